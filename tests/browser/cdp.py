"""Drives headless Debian chromium over the DevTools protocol (a pipe, no extra packages): opens a
URL, lets it run for real seconds, evaluates a JavaScript expression and saves a screenshot.

    python3 cdp.py URL SECONDS EXPRESSION SCREENSHOT.png  -> prints the expression's JSON value

Environment: DPR (device pixel ratio, default 1), LOADS (navigate this many times, SECONDS each,
before evaluating: 2 is a load and a reload).

Used by scripts/browser-test.sh. Bounded: every wait has a deadline, chromium is killed at exit.
"""
import base64, json, os, subprocess, sys, tempfile, time

url, seconds, expression, screenshot = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
profile = tempfile.mkdtemp(prefix="imgshield-chromium-")
to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
# chromium reads commands on fd 3 and writes replies on fd 4 with --remote-debugging-pipe.
def child_fds():
    os.dup2(to_chrome_r, 3)
    os.dup2(from_chrome_w, 4)
chrome = subprocess.Popen(
    ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
     "--disable-background-networking", "--disable-component-update", "--disable-sync",
     "--hide-scrollbars", "--window-size=1200,800", f"--user-data-dir={profile}",
     f"--force-device-scale-factor={os.environ.get('DPR', '1')}",
     "--remote-debugging-pipe", "about:blank"],
    pass_fds=(3, 4), preexec_fn=child_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_chrome_r)
os.close(from_chrome_w)
buffer = b""
next_id = 0

def send(method, params=None, session=None):
    global next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
    return next_id

def reply(wanted, deadline):
    global buffer
    while time.monotonic() < deadline:
        while b"\0" in buffer:
            raw, buffer = buffer.split(b"\0", 1)
            message = json.loads(raw)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message["result"]
        chunk = os.read(from_chrome_r, 1 << 20)
        if not chunk:
            raise RuntimeError("chromium closed the pipe")
        buffer += chunk
    raise TimeoutError(f"no reply to message {wanted}")

def call(method, params=None, session=None, timeout=30):
    return reply(send(method, params, session), time.monotonic() + timeout)

try:
    target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    call("Page.enable", session=session)
    for attempt in range(int(os.environ.get("LOADS", "1"))):
        call("Page.navigate", {"url": url}, session=session)
        time.sleep(seconds)
    value = call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                 session=session)["result"].get("value")
    png = call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
    with open(screenshot, "wb") as f:
        f.write(base64.b64decode(png))
    print(json.dumps(value))
finally:
    chrome.kill()
    chrome.wait(timeout=10)
    subprocess.run(["rm", "-rf", profile])
