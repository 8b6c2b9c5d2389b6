"""Runs a command on a real pseudo-terminal and drives it like a person at a keyboard.

Usage: python3 pty-run.py '<json>' with {"argv": [...], "env": {...}, "cwd": "...", "steps": [["expect", "text"] |
["send", "keys"]], "timeout": seconds}. Prints one JSON object: {"exit": code, "signal": n | null, "output": the
terminal transcript as the user saw it (raw, with any escape sequences), "missed": the text an "expect" waited for in
vain, or null}. Node's native pty addons do not build here; python3's pty module is in every Debian image.
"""
import json, os, pty, select, sys, time

spec = json.loads(sys.argv[1])
deadline = time.time() + spec.get("timeout", 60)
pid, fd = pty.fork()
if pid == 0:
    os.chdir(spec.get("cwd", "."))
    os.execvpe(spec["argv"][0], spec["argv"], {**os.environ, **spec.get("env", {})})

output = b""
missed = None

def read_some(wait):
    global output
    ready, _, _ = select.select([fd], [], [], wait)
    if not ready:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return None
    if not chunk:
        return None
    output += chunk
    return True

cursor = 0
for kind, value in spec["steps"]:
    if kind == "expect":
        while output.find(value.encode(), cursor) < 0:
            if time.time() > deadline or read_some(0.2) is None:
                missed = value
                break
        if missed is not None:
            break
        cursor = output.find(value.encode(), cursor) + len(value.encode())
    elif kind == "send":
        time.sleep(0.1)
        os.write(fd, value.encode())

while time.time() < deadline:
    if read_some(0.2) is None:
        break
else:
    os.kill(pid, 9)

_, status = os.waitpid(pid, 0)
print(json.dumps({
    "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
    "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
    "output": output.decode("utf-8", "replace"),
    "missed": missed,
}))
