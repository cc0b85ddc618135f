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


def _patch_cognito():
    """Cognito as strict as the service where moto 5.2 is kind, so the
    dashboard's and the CLI's sign-in meet what a deployed pool does:

    - SRP is real. moto answers USER_SRP_AUTH with a random `SRP_B` and accepts
      any `PASSWORD_CLAIM_SIGNATURE`, so a wrong password signed in. Here the
      server side of Cognito's SRP-6a runs over the 3072-bit group of RFC 3526
      (g = 2, k = H(N | g), x = H(salt | H(pool | user ":" password)), HKDF
      "Caldera Derived Key", the signature an HMAC over pool, user, secret
      block and timestamp), as the AWS SDKs' AuthenticationHelper computes the
      client side; a wrong signature is `NotAuthorizedException`.
    - An app client accepts only the flows its `ExplicitAuthFlows` allow
      (`InvalidParameterException: USER_PASSWORD_AUTH flow not enabled for
      this client`, what Cognito answers). moto accepted every flow.
    - TOTP: each user gets their own secret from AssociateSoftwareToken (moto
      hands every user the same one) and every code is checked (moto checks
      none unless told to): RFC 6238, SHA-1, 6 digits, 30 s steps, one step of
      skew either way. A wrong code is `CodeMismatchException` at sign-in and
      `EnableSoftwareTokenMFAException` at enrolment (Cognito's API reference).
    - MFA_SETUP is answered only with the session VerifySoftwareToken returned
      (moto signed in on any session).
    - RevokeToken, which moto lacks: the refresh token stops working, so a
      signed-out dashboard cannot be resumed from a copied token."""
    import base64
    import hashlib
    import hmac
    import secrets

    from moto.cognitoidp import models, responses
    from moto.cognitoidp.exceptions import (
        CodeMismatchException,
        InvalidParameterException,
        NotAuthorizedError,
    )
    from moto.cognitoidp.utils import cognito_totp, verify_totp
    from moto.core.exceptions import JsonRESTError
    from cryptography.hazmat.primitives.twofactor import InvalidToken

    n = int(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
        "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
        "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
        16,
    )
    g = 2

    def pad(v):
        h = format(v, "x")
        if len(h) % 2:
            h = "0" + h
        elif h[0] in "89abcdef":
            h = "00" + h
        return h

    def hash_hex(h):
        return hashlib.sha256(bytes.fromhex(h)).hexdigest()

    k = int(hash_hex(pad(n) + pad(g)), 16)
    srp = {}  # secret block -> what the PASSWORD_VERIFIER answer is checked against
    pending = {}  # (pool id, username) -> the secret being enrolled
    totp = {}  # (pool id, username) -> the enrolled secret
    setup_sessions = set()  # sessions VerifySoftwareToken returned

    class EnableSoftwareTokenMFAException(JsonRESTError):
        def __init__(self):
            super().__init__("EnableSoftwareTokenMFAException", "Code mismatch")

    incorrect = "Incorrect username or password."
    flow_names = {
        "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
        "USER_SRP_AUTH": "ALLOW_USER_SRP_AUTH",
        "REFRESH_TOKEN_AUTH": "ALLOW_REFRESH_TOKEN_AUTH",
        "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
        "CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH",
    }
    # Cognito's default when a client names no flows.
    default_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_CUSTOM_AUTH"]

    def pool_of(backend, client_id):
        for pool in backend.user_pools.values():
            if client_id in pool.clients:
                return pool, pool.clients[client_id]
        raise models.ResourceNotFoundError(client_id)

    def code_ok(secret, code):
        try:
            verify_totp(cognito_totp(secret), (code or "").encode("utf-8"), valid_window=1)
            return True
        except InvalidToken:
            return False

    original_initiate = models.CognitoIdpBackend.initiate_auth

    def initiate_auth(self, client_id, auth_flow, auth_parameters):
        pool, client = pool_of(self, client_id)
        allowed = client.extended_config.get("ExplicitAuthFlows") or default_flows
        if auth_flow in flow_names and flow_names[auth_flow] not in allowed:
            raise InvalidParameterException(f"{auth_flow} flow not enabled for this client")
        out = original_initiate(self, client_id, auth_flow, auth_parameters)
        if auth_flow != "USER_SRP_AUTH":
            return out
        a = int(auth_parameters["SRP_A"], 16)
        if a % n == 0:
            raise NotAuthorizedError(incorrect)
        user = self.admin_get_user(pool.id, auth_parameters["USERNAME"])
        pool_name = pool.id.split("_", 1)[1]
        salt = secrets.token_bytes(16).hex()
        inner = hashlib.sha256(f"{pool_name}{user.username}:{user.password}".encode()).hexdigest()
        x = int(hash_hex(pad(int(salt, 16)) + inner), 16)
        v = pow(g, x, n)
        b = int.from_bytes(secrets.token_bytes(128), "big")
        big_b = (k * v + pow(g, b, n)) % n
        block = base64.b64encode(secrets.token_bytes(64)).decode()
        self.sessions[block] = self.sessions.pop(out["Session"])
        srp[block] = (a, b, big_b, v, pool_name, user.username)
        out["Session"] = block
        out["ChallengeParameters"].update(
            SALT=salt, SRP_B=format(big_b, "x"), USER_ID_FOR_SRP=user.username, SECRET_BLOCK=block
        )
        return out

    original_respond = models.CognitoIdpBackend.respond_to_auth_challenge

    def respond_to_auth_challenge(self, session, client_id, challenge_name, answers):
        answers = answers or {}
        if challenge_name == "PASSWORD_VERIFIER":
            block = answers.get("PASSWORD_CLAIM_SECRET_BLOCK") or ""
            state = srp.pop(block, None)
            if state is None:
                raise NotAuthorizedError("Invalid session for the user.")
            a, b, big_b, v, pool_name, user_id = state
            u = int(hash_hex(pad(a) + pad(big_b)), 16)
            s = pow(a * pow(v, u, n) % n, b, n)
            prk = hmac.new(bytes.fromhex(pad(u)), bytes.fromhex(pad(s)), hashlib.sha256).digest()
            key = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
            message = (
                pool_name.encode()
                + user_id.encode()
                + base64.b64decode(block)
                + (answers.get("TIMESTAMP") or "").encode()
            )
            expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
            claimed = answers.get("PASSWORD_CLAIM_SIGNATURE") or ""
            if answers.get("USERNAME") != user_id or not hmac.compare_digest(expected, claimed):
                self.sessions.pop(block, None)
                raise NotAuthorizedError(incorrect)
        elif challenge_name == "SOFTWARE_TOKEN_MFA":
            if session not in self.sessions:
                raise NotAuthorizedError("Invalid session for the user.")
            username, pool = self.sessions[session]
            user = self.admin_get_user(pool.id, answers.get("USERNAME") or username)
            secret = totp.get((pool.id, user.username))
            if secret is None or not code_ok(secret, answers.get("SOFTWARE_TOKEN_MFA_CODE")):
                raise CodeMismatchException("Invalid code received for user")
        elif challenge_name == "MFA_SETUP":
            if session not in setup_sessions:
                raise NotAuthorizedError("Invalid session for the user.")
            setup_sessions.discard(session)
        return original_respond(self, session, client_id, challenge_name, answers)

    def user_of(self, access_token, session):
        if session:
            if session not in self.sessions:
                raise NotAuthorizedError("Invalid session for the user.")
            username, pool = self.sessions[session]
            return pool, username
        for pool in self.user_pools.values():
            if access_token in pool.access_tokens:
                return pool, pool.access_tokens[access_token][1]
        raise NotAuthorizedError("Invalid Access Token")

    def associate_software_token(self, access_token, session):
        pool, username = user_of(self, access_token, session)
        secret = base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=")
        pending[(pool.id, username)] = secret
        out = {"SecretCode": secret}
        if session:
            out["Session"] = session
        return out

    original_verify = models.CognitoIdpBackend.verify_software_token

    def verify_software_token(self, access_token, session, user_code, friendly_device_name):
        pool, username = user_of(self, access_token, session)
        secret = pending.get((pool.id, username))
        if secret is None or not code_ok(secret, user_code):
            raise EnableSoftwareTokenMFAException()
        totp[(pool.id, username)] = pending.pop((pool.id, username))
        out = original_verify(self, access_token, session, user_code, friendly_device_name)
        if out.get("Session"):
            setup_sessions.add(out["Session"])
        return out

    def revoke_token(self):
        token = self._get_param("Token")
        client_id = self._get_param("ClientId")
        backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
        pool, _ = pool_of(backend, client_id)
        held = pool.refresh_tokens.get(token)
        if held is not None:
            if held[0] != client_id:
                raise NotAuthorizedError("Refresh token was not issued to this client")
            pool.refresh_tokens[token] = None
        return "{}"

    models.CognitoIdpBackend.initiate_auth = initiate_auth
    models.CognitoIdpBackend.respond_to_auth_challenge = respond_to_auth_challenge
    models.CognitoIdpBackend.associate_software_token = associate_software_token
    models.CognitoIdpBackend.verify_software_token = verify_software_token
    responses.CognitoIdpResponse.revoke_token = revoke_token


def _patch_usage_plan_ids():
    """moto draws a usage plan's id at random. A role's policy names the plan
    (`/usageplans/${UsersUsagePlan}/keys`) and is resolved from the template
    before moto holds the plan, so the local stack names each plan by its
    template name: a `_custom_id_` tag (what moto honours for other resources)
    sets the id here too."""
    from moto.apigateway.models import APIGatewayBackend, UsagePlan

    original = APIGatewayBackend.create_usage_plan

    def create_usage_plan(self, payload):
        custom = (payload.get("tags") or {}).get("_custom_id_")
        if not custom:
            return original(self, payload)
        plan = UsagePlan(usage_plan_id=custom, **payload)
        self.usage_plans[plan.id] = plan
        return plan

    APIGatewayBackend.create_usage_plan = create_usage_plan


for patch in (
    _patch_query,
    _patch_routing,
    _patch_item_responses,
    _patch_cognito,
    _patch_usage_plan_ids,
):
    try:
        patch()
    except Exception as e:  # moto changed: run that part as it is.
        print(f"tickerpulse: moto left unpatched by {patch.__name__} ({e!r})", file=sys.stderr)

from moto.server import main  # noqa: E402

sys.exit(main())
