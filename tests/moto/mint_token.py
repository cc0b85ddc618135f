"""Re-signs a moto user pool token with changed times, as moto signs its own.

usage: mint_token.py TOKEN EXP_OFFSET_SECONDS

Prints TOKEN's claims signed again with moto's user pool key (the key moto's
JWKS publishes), `exp` set to now + EXP_OFFSET_SECONDS and `iat`/`auth_time`
an hour before that. A negative offset gives an expired token that is
otherwise valid: the tests use it to show the gateway refuses expiry itself,
and a positive one as the control that the re-signing is sound.
"""

import base64
import json
import sys
import time

from joserfc import jwk, jwt
from moto.utilities.utils import load_resource


def main() -> None:
    token, offset = sys.argv[1], int(sys.argv[2])
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    exp = int(time.time()) + offset
    claims.update(exp=exp, iat=exp - 3600, auth_time=exp - 3600)
    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    print(jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, key))


if __name__ == "__main__":
    main()
