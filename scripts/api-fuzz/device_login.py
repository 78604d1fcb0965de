#!/usr/bin/env python3
"""A builder's `base44 login` access token, got the way a person gets one.

Over plain HTTP, as a browser and the CLI would (standard library only):
the bootstrap file's invite link sets the builder's password; a device
login is started (POST /oauth/device/code); its verification_uri_complete,
opened without a session, sends to the sign-in page, where the builder
signs in with that password and comes back to /device; the decision form
is approved; one poll of POST /oauth/token answers the tokens. Prints the
access token (a JWT for `Authorization: Bearer`) and nothing else on
stdout.

Usage: device_login.py SERVER_URL BOOTSTRAP_FILE
Exit 1, with the step that failed on stderr, when any step does not answer
what it should.
"""

import html.parser
import http.cookiejar
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

CLIENT_ID = "base44_cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class Failed(Exception):
    """A step that did not answer what it should."""


class Forms(html.parser.HTMLParser):
    """The forms of a page: action, method, and the values of their named
    inputs and buttons (buttons apart: only the pressed one is sent)."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""),
                               "method": (a.get("method") or "get").lower(),
                               "fields": {}, "buttons": {}})
        elif self.forms and tag == "input" and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].setdefault(a["name"], []).append(a.get("value") or "")


def forms_of(page):
    parser = Forms()
    parser.feed(page)
    return parser.forms


def post_form(page, what):
    """The one form of `page` that posts, or Failed."""
    posting = [f for f in forms_of(page) if f["method"] == "post"]
    if len(posting) != 1:
        raise Failed(f"{what}: expected one form that posts, found {len(posting)}")
    return posting[0]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to check, not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie jar, and the server's origin on every form post (the
    server refuses forms from other sites)."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        parts = urllib.parse.urlsplit(self.base)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def url(self, path_or_url):
        return urllib.parse.urljoin(self.base + "/", path_or_url)

    def request(self, method, path_or_url, fields=None, json_body=None):
        """(status, Location or None, body text)."""
        headers = {"Accept": "text/html,application/json"}
        data = None
        if fields is not None:
            data = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url(path_or_url), data=data,
                                     headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=30) as answer:
                return answer.status, answer.headers.get("Location"), answer.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location"), answer.read().decode()

    def has_cookie(self, name):
        return any(c.name == name for c in self.jar)


def expect(answer, status, what):
    got, location, body = answer
    if got != status:
        raise Failed(f"{what}: expected {status}, got {got}: {body[:500]}")
    return location, body


def login(base, bootstrap):
    boot = json.load(open(bootstrap))
    email, invite = boot["builder_email"], boot["login_url"]
    password = secrets.token_urlsafe(24)

    # The invite link sets the password (and signs in a browser we then
    # drop: the CLI's login is approved from a fresh one below).
    setter = Browser(base)
    _, page = expect(setter.request("GET", invite), 200, "GET the invite link")
    form = post_form(page, "the invite page")
    fields = dict(form["fields"], password=password, confirm_password=password)
    location, _ = expect(setter.request("POST", form["action"] or invite, fields),
                         303, "POST the invite form (set the password)")
    if not setter.has_cookie("b44_session"):
        raise Failed("setting the password answered no b44_session cookie")

    # The CLI starts a device login.
    cli = Browser(base)
    _, body = expect(cli.request("POST", "/oauth/device/code",
                                 json_body={"client_id": CLIENT_ID,
                                            "scope": "apps:read apps:write"}),
                     200, "POST /oauth/device/code")
    device = json.loads(body)

    # The builder opens verification_uri_complete: sign-in first, then back.
    person = Browser(base)
    location, _ = expect(person.request("GET", device["verification_uri_complete"]),
                         303, "GET the verification link without a session")
    _, page = expect(person.request("GET", location), 200, f"GET {location}")
    form = post_form(page, "the sign-in page")
    fields = dict(form["fields"], email=email, password=password)
    location, _ = expect(person.request("POST", form["action"], fields),
                         303, "POST the sign-in form")
    if not person.has_cookie("b44_session"):
        raise Failed("signing in answered no b44_session cookie")
    _, page = expect(person.request("GET", location), 200, f"GET {location} signed in")
    form = post_form(page, "the device page")
    if "approve" not in form["buttons"].get("decision", []):
        raise Failed(f"the device page has no Approve button: {page[:500]}")
    fields = dict(form["fields"], decision="approve")
    _, page = expect(person.request("POST", form["action"], fields), 200,
                     "POST Approve on the device page")
    if "You approved this login" not in page:
        raise Failed(f"approving answered another page: {page[:500]}")

    # One poll: approved already, and the first poll is never too fast.
    _, body = expect(cli.request("POST", "/oauth/token",
                                 fields={"grant_type": DEVICE_GRANT,
                                         "device_code": device["device_code"],
                                         "client_id": CLIENT_ID}),
                     200, "POST /oauth/token")
    tokens = json.loads(body)
    if tokens.get("token_type") != "Bearer" or not tokens.get("access_token"):
        raise Failed(f"POST /oauth/token answered no bearer access token: {sorted(tokens)}")
    return tokens["access_token"]


def main(argv):
    if len(argv) != 3:
        print("usage: device_login.py SERVER_URL BOOTSTRAP_FILE", file=sys.stderr)
        return 2
    try:
        token = login(argv[1], argv[2])
    except (Failed, OSError, ValueError, KeyError) as e:
        print(f"device_login.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
