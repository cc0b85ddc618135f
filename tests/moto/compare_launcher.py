"""The local stack's moto launcher (cli/src/moto_server.py) against moto as it
ships: the same DynamoDB requests to both, the same answers (status, content
type and parsed body), and the launcher's patches all applied.

Usage: python tests/moto/compare_launcher.py <launcher.py> <moto_server script>
Run by `tests/tests/moto_launcher.rs`. Prints a JSON summary; exits 1 on any
difference.
"""

import base64
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv):
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")  # moto logs every request: not a pipe that fills
    proc = subprocess.Popen(argv + ["-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=log, text=True)
    proc.log = log
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).read()
            return proc, port
        except Exception:
            time.sleep(0.1)
    proc.kill()
    log.seek(0)
    raise SystemExit(f"{argv} did not start: {log.read()}")


def call(port, op, body):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(), method="POST",
        headers={"X-Amz-Target": f"DynamoDB_20120810.{op}", "Content-Type": "application/x-amz-json-1.0",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, "
                                  "SignedHeaders=host, Signature=x"})
    try:
        with urllib.request.urlopen(req) as r:
            status, content_type, raw = r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        status, content_type, raw = e.code, e.headers.get("Content-Type"), e.read()
    try:
        return status, content_type, json.loads(raw)
    except ValueError:
        return status, content_type, raw.decode("utf-8", "replace")


def requests():
    T = "compare"
    yield "CreateTable", {
        "TableName": T, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "S"},
                                 {"AttributeName": "g", "AttributeType": "S"}],
        "GlobalSecondaryIndexes": [{"IndexName": "gix", "Projection": {"ProjectionType": "ALL"},
                                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                  {"AttributeName": "sk", "KeyType": "RANGE"}]}]}
    yield "CreateTable", {
        "TableName": "hash-only", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}]}
    b = base64.b64encode(b"\x00\xffbin").decode()
    for i in range(300):
        item = {"pk": {"S": f"p{i % 7}"}, "sk": {"S": f"s{(i * 7919) % 300:03}"}, "n": {"N": str(i * 1.5)},
                "m": {"M": {"a": {"L": [{"S": "x"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}]}}},
                "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "b": {"B": b}, "bs": {"BS": [b]},
                "u": {"S": "\u00e9 \u2603 \"q\" \n"}}
        if i % 2:
            item["g"] = {"S": f"g{i % 4}"}
        yield "PutItem", {"TableName": T, "Item": item, "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL"}
        yield "PutItem", {"TableName": "hash-only", "Item": {"id": {"N": str(i % 50)}, "v": {"N": str(i)}}}
    yield "GetItem", {"TableName": T, "Key": {"pk": {"S": "p1"}, "sk": {"S": "s001"}}}
    yield "GetItem", {"TableName": T, "Key": {"pk": {"S": "p1"}, "sk": {"S": "nope"}}, "ReturnConsumedCapacity": "TOTAL"}
    yield "GetItem", {"TableName": "missing", "Key": {"pk": {"S": "p1"}, "sk": {"S": "nope"}}}
    for p in range(8):
        values = {":p": {"S": f"p{p}"}}
        yield "Query", {"TableName": T, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": values,
                        "Limit": 9, "ScanIndexForward": False, "ReturnConsumedCapacity": "TOTAL"}
        yield "Query", {"TableName": T, "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                        "ExpressionAttributeValues": dict(values, **{":a": {"S": "s050"}, ":b": {"S": "s200"}}),
                        "ExclusiveStartKey": {"pk": {"S": f"p{p}"}, "sk": {"S": "s100"}},
                        "ProjectionExpression": "sk, n, m.a", "ReturnConsumedCapacity": "TOTAL"}
        yield "Query", {"TableName": T, "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                        "ExpressionAttributeValues": dict(values, **{":s": {"S": "s1"}}),
                        "FilterExpression": "n > :n", "Select": "COUNT", "ReturnConsumedCapacity": "INDEXES"}
        yield "Query", {"TableName": T, "IndexName": "gix", "KeyConditionExpression": "g = :g AND sk > :s",
                        "ExpressionAttributeValues": {":g": {"S": f"g{p % 4}"}, ":s": {"S": "s100"}},
                        "Limit": 7, "ScanIndexForward": p % 2 == 0}
        yield "Query", {"TableName": "hash-only", "KeyConditionExpression": "id = :i",
                        "ExpressionAttributeValues": {":i": {"N": str(p * 3)}}}
    yield "Query", {"TableName": T, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p0"}},
                    "Select": "COUNT", "ReturnConsumedCapacity": "TOTAL"}
    yield "Query", {"TableName": T, "KeyConditionExpression": "bad syntax", "ExpressionAttributeValues": {":p": {"S": "p0"}}}
    yield "Query", {"TableName": T, "IndexName": "nope", "KeyConditionExpression": "g = :g",
                    "ExpressionAttributeValues": {":g": {"S": "g1"}}}
    yield "Scan", {"TableName": T, "Limit": 5, "ReturnConsumedCapacity": "TOTAL", "FilterExpression": "n > :n", "ExpressionAttributeValues": {":n": {"N": "10"}}}
    keys = [{"pk": {"S": f"p{i % 7}"}, "sk": {"S": f"s{(i * 7919) % 300:03}"}} for i in (3, 10, 17)]
    yield "BatchGetItem", {"RequestItems": {T: {"Keys": keys + [{"pk": {"S": "x"}, "sk": {"S": "y"}}]}}}
    yield "UpdateItem", {"TableName": T, "Key": {"pk": {"S": "p1"}, "sk": {"S": "s001"}},
                         "UpdateExpression": "SET n = n + :one, z = :z",
                         "ExpressionAttributeValues": {":one": {"N": "1"}, ":z": {"L": []}}, "ReturnValues": "ALL_NEW"}
    yield "UpdateItem", {"TableName": T, "Key": {"pk": {"S": "p1"}, "sk": {"S": "s001"}}, "UpdateExpression": "SET n = :n",
                         "ConditionExpression": "attribute_not_exists(pk)", "ExpressionAttributeValues": {":n": {"N": "1"}}}
    yield "DeleteItem", {"TableName": T, "Key": {"pk": {"S": "p2"}, "sk": {"S": "s002"}}, "ReturnValues": "ALL_OLD"}
    yield "BatchWriteItem", {"RequestItems": {T: [{"DeleteRequest": {"Key": {"pk": {"S": "p0"}, "sk": {"S": "s007"}}}}]}}
    yield "Query", {"TableName": T, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p0"}}}


def main():
    launcher, moto_server = sys.argv[1], sys.argv[2]
    ours, ours_port = start([sys.executable, launcher])
    theirs, theirs_port = start([moto_server])
    differences, compared = [], 0
    try:
        for op, body in requests():
            a, b = call(ours_port, op, body), call(theirs_port, op, body)
            compared += 1
            if op == "CreateTable":
                continue  # creation times and ids differ by nature
            # As text, so that 3 and 3.0 differ.
            if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
                differences.append({"operation": op, "request": body, "launcher": a, "moto": b})
    finally:
        for p in (ours, theirs):
            p.terminate()
            p.wait(timeout=30)
        ours.log.seek(0)
        stderr = ours.log.read()
    unpatched = [line for line in stderr.splitlines() if "unpatched" in line]
    print(json.dumps({"compared": compared, "differences": differences[:5], "unpatched": unpatched}, indent=1))
    sys.exit(1 if differences or unpatched else 0)


main()
