"""Following public links as a participant's browser does, with this machine as the ingress.

A deployment under test gives its services public names (`http://decisions.council.test:PORT`)
that no DNS knows. `public_web(domain)` is a requests Session that sends every request for a
host under `domain` to 127.0.0.1 on the same port, with the public name in the Host header,
as an ingress in front of the services would; every other URL goes where it says.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


class LocalIngress(HTTPAdapter):
    def __init__(self, domain: str):
        super().__init__()
        self.domain = domain.lower()

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        public_url = request.url
        parts = urlsplit(public_url)
        if not (parts.hostname or "").lower().endswith("." + self.domain):
            return super().send(request, **kwargs)
        request.headers["Host"] = parts.netloc
        request.url = parts._replace(netloc=f"127.0.0.1:{parts.port or 80}").geturl()
        response = super().send(request, **kwargs)
        # Relative redirects resolve against the address the participant asked for.
        response.url = public_url
        return response


def public_web(domain: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", LocalIngress(domain))
    return session
