"""The floor for any Python permission-check endpoint: FastAPI, one POST route, verify an EdDSA JWT.

Started by bench/bench_http.py with the same uvicorn settings as `jitgate serve` (one process,
127.0.0.1, log_level="info" with the access log, proxy_headers=True, loop/http "auto" unless
told otherwise). The public key comes from the PEM file named by BENCH_FLOOR_PUBLIC_KEY and is
loaded once; the issuer/audience from BENCH_FLOOR_ISSUER.

Routes:
- POST /check       async def: verify the bearer JWT on the event loop (the floor).
- POST /check-sync  plain def: the same work through Starlette's thread pool (what a sync route
                    costs; informational).
"""

import os
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import FastAPI, HTTPException, Request

ISSUER = os.environ.get("BENCH_FLOOR_ISSUER", "http://127.0.0.1/floor")
with open(os.environ["BENCH_FLOOR_PUBLIC_KEY"], "rb") as fh:
    PUBLIC_KEY = load_pem_public_key(fh.read())  # cached key object: parsed once
OPTIONS = {"require": ["exp", "iat", "iss", "sub", "jti", "aud"], "verify_iat": False}

app = FastAPI(title="bench-floor")


def _verify(request: Request) -> dict[str, Any]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "a bearer token is required")
    try:
        claims = jwt.decode(
            token.strip(),
            PUBLIC_KEY,
            algorithms=["EdDSA"],
            audience=ISSUER,
            issuer=ISSUER,
            leeway=30,
            options=OPTIONS,
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(401, f"invalid token: {exc}") from exc
    return {"allowed": True, "subject": claims["sub"]}


@app.post("/check")
async def check(request: Request) -> dict[str, Any]:
    return _verify(request)


@app.post("/check-sync")
def check_sync(request: Request) -> dict[str, Any]:
    return _verify(request)


def main() -> None:
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    args = parser.parse_args()
    # Same keyword arguments as `jitgate serve` (app/cli.py), plus the loop/http choice.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=True,
        loop=args.loop,
        http=args.http,
    )


if __name__ == "__main__":
    main()
