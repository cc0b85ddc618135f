"""moto's server, with DynamoDB Query answered from the partition it names
and requests routed without redoing the same search each time.

moto 5.2's `Table.query` builds `all_items()` (every item of the table, sorted)
on every call, then filters it by partition key: each Query costs O(table size
x log). The pipeline's aggregate reads summaries back by key, so at 100,000
tweets and beyond the local stack slowed to a few requests a second. This
launcher lets a base-table Query see only its partition's items (what DynamoDB
itself does); an index Query still scans, but without the sort that moto redoes
on the filtered items anyway. Results, order and paging are moto's own: the
same method runs on a smaller input.

If moto's internals differ from what this expects, it says so on stderr and
runs moto unchanged.
"""

import sys
import threading


def _patch_query():
    from moto.dynamodb.models.table import Table

    original_all_items = Table.all_items
    original_query = Table.query
    local = threading.local()

    def all_items(self):
        override = getattr(local, "override", None)
        if override is not None and override[0] is self:
            return override[1]()
        return original_all_items(self)

    def unsorted_items(self):
        items = []
        for bucket in self.items.values():
            if self.range_key_attr:
                items.extend(bucket.values())
            else:
                items.append(bucket)
        return items

    def query(self, hash_key, *args, **kwargs):
        # index_name is the 7th positional argument after hash_key.
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name:
            candidates = lambda: unsorted_items(self)  # noqa: E731
        else:

            def candidates():
                bucket = self.items.get(hash_key)
                if bucket is None:
                    return []
                return list(bucket.values()) if self.range_key_attr else [bucket]

        local.override = (self, candidates)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            local.override = None

    Table.all_items = all_items
    Table.query = query


def _patch_routing():
    """moto finds each request's service under one global lock, listing its own
    package directory (a `listdir` and an `isdir` per service) and trying the URL
    patterns of every service, on every request. Both answers never change while
    it runs: remember them."""
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules

    original = DomainDispatcherApplication.get_backend_for_host
    known = {}

    def get_backend_for_host(self, host):
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host


def _patch_item_responses():
    """moto 5.2 writes every DynamoDB response through its generic,
    shape-driven serializer, which walks each attribute value of each item
    against the service model: a third of its time in the aggregate's Query
    calls. The item operations' results are already DynamoDB JSON (moto's
    `dynamo_to_dict`), so they are written with `json.dumps`: binary values
    base64 as the serializer writes them, only the fields of the operation's
    output shape, absent ones left out, capacity units as doubles. The local
    stack's tests run on this path; `tests/tests/moto_launcher.rs` compares its
    bodies with moto's own serializer."""
    import base64
    import datetime
    import json

    from moto.dynamodb.responses import DynamoResult

    operations = {"Query", "Scan", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem"}

    def default(value):
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        raise TypeError(f"{type(value).__name__} is not JSON")

    def capacity(value):
        """Capacity units are doubles in the model: 3 is written 3.0."""
        if isinstance(value, dict):
            return {k: capacity(v) for k, v in value.items()}
        if isinstance(value, list):
            return [capacity(v) for v in value]
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    original = DynamoResult.execute_result

    def execute_result(self, context):
        result = self.result
        if context.operation_model.name in operations and isinstance(result, dict):
            members = context.operation_model.output_shape.members
            body = {k: v for k, v in result.items() if v is not None and k in members}
            if "ConsumedCapacity" in body:
                body["ConsumedCapacity"] = capacity(body["ConsumedCapacity"])
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            return 200, headers, json.dumps(body, default=default, separators=(",", ":"))
        return original(self, context)

    DynamoResult.execute_result = execute_result


for patch in (_patch_query, _patch_routing, _patch_item_responses):
    try:
        patch()
    except Exception as e:  # moto changed: run that part as it is.
        print(f"tickerpulse: moto left unpatched by {patch.__name__} ({e!r})", file=sys.stderr)

from moto.server import main  # noqa: E402

sys.exit(main())
