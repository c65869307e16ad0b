#!/usr/bin/env python3
"""Checks a CUDA build of xinfer on a machine with an NVIDIA GPU, end to end, with the test models.

    XINFER_CUDA=ON scripts/setup.sh && python3 scripts/gpu-check.py
    python3 scripts/gpu-check.py --bundle /opt/xinfer-bundle     # an unpacked offline bundle

It starts `xinfer serve` on a free loopback port with a home of its own and, for chat, embeddings,
rerank and whisper, launches the same model twice: once as a user does (n_gpu "auto": the GPU)
and once on the CPU (n_gpu null). A check passes when the GPU replica really runs on the GPU (the
engine's own log says its layers were offloaded, nvidia-smi lists its process, it sees only its
GPU) and answers like the CPU replica (vectors and scores agree; chat and speech answer in full).
Terminating the models must give the GPU's memory back. Prints one line per check and exits 1 if
any failed. Python's standard library only: it runs on a bare GPU machine.
"""
import argparse
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

failures = []
# What an engine's log says about the GPU. llama-server warns when it finds none (it names the
# device it loads onto only at a higher log verbosity); the model host (embeddings, rerank,
# speech) writes the ggml devices it found.
LLAMA_SERVER_NO_GPU = r"no usable GPU found"
HOST_GPU = r"ggml devices:.*CUDA0[^,\n]*"


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        failures.append(name)
    return ok


class Server:
    def __init__(self, serve):
        self.home = tempfile.mkdtemp(prefix="xinfer-gpu-check-")
        self.log = open(os.path.join(self.home, "serve.log"), "w+")
        env = dict(os.environ, XINFER_HOME=self.home)
        self.proc = subprocess.Popen(serve + ["-H", "127.0.0.1", "-p", "0"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = None
        for _ in range(400):
            self.log.seek(0)
            m = re.search(r"xinfer listening on (http://127\.0\.0\.1:\d+)", self.log.read())
            if m:
                self.base = m.group(1)
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.base:
            self.log.seek(0)
            raise SystemExit("xinfer serve did not start:\n" + self.log.read())

    def call(self, method, path, body=None, raw=None, headers=None, timeout=300):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def json(self, method, path, body=None, **kw):
        status, text = self.call(method, path, body, **kw)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, {"raw": text.decode(errors="replace")}

    def launch(self, uid, path, model_type="LLM", gpu=True):
        body = {"model_uid": uid, "model_name": uid, "model_type": model_type, "model_path": path, "wait_ready": True}
        if not gpu:
            body["n_gpu"] = None
        t0 = time.monotonic()
        status, r = self.json("POST", "/v1/models", body)
        took = time.monotonic() - t0
        check(f"launch {uid}", status == 200, f"{took:.1f} s" if status == 200 else f"{status} {r}")
        return status == 200

    def replica(self, uid):
        _, d = self.json("GET", f"/v1/models/{uid}")
        return d["replicas"][0]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def gpu_pids():
    out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True).stdout
    pids = {}
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit():
            pids[int(parts[0])] = parts[1]
    return pids


def on_gpu(server, uid, log_has=None, log_lacks=None):
    """The replica's engine runs on the GPU: pinned to it, listed by nvidia-smi, its log agrees."""
    r = server.replica(uid)
    pid = r["pid"]
    env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    visible = [e.decode() for e in env if e.startswith(b"CUDA_VISIBLE_DEVICES=")]
    check(f"{uid}: engine sees one GPU", visible == ["CUDA_VISIBLE_DEVICES=0"], str(visible))
    pids = {}
    for _ in range(20):  # the engine may allocate its buffers a moment after it reports ready
        pids = gpu_pids()
        if pid in pids:
            break
        time.sleep(0.25)
    check(f"{uid}: nvidia-smi lists engine pid {pid}", pid in pids, f"{pids.get(pid, '?')} MiB" if pid in pids else str(pids))
    log = open(r["log"], errors="replace").read()
    if log_has:
        m = re.search(log_has, log)
        check(f"{uid}: engine log names the GPU", m is not None, m.group(0).strip() if m else "no line matching " + log_has)
    if log_lacks:
        m = re.search(log_lacks, log)
        check(f"{uid}: engine log has no GPU warning", m is None, m.group(0) if m else "")
    return pid


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)) or 1.0)


def check_chat(server, model):
    if not (server.launch("gpu-chat", model) and server.launch("cpu-chat", model, gpu=False)):
        return
    on_gpu(server, "gpu-chat", log_lacks=LLAMA_SERVER_NO_GPU)
    msgs = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    status, r = server.json("POST", "/v1/chat/completions", {"model": "gpu-chat", "messages": msgs, "max_tokens": 48})
    check("gpu-chat: chat completion", status == 200 and r.get("usage", {}).get("completion_tokens", 0) > 0,
          json.dumps(r.get("usage")) if status == 200 else f"{status} {r}")
    status, raw = server.call("POST", "/v1/chat/completions",
                              {"model": "gpu-chat", "messages": msgs, "max_tokens": 48, "stream": True})
    events = [l for l in raw.decode(errors="replace").splitlines() if l.startswith("data: ")]
    check("gpu-chat: streamed", status == 200 and len(events) > 2 and events[-1] == "data: [DONE]", f"{len(events)} events")
    # Greedy decoding on both devices: random weights make near-ties, so report the agreement.
    texts = {}
    for uid in ("gpu-chat", "cpu-chat"):
        _, r = server.json("POST", "/v1/completions",
                           {"model": uid, "prompt": "The lighthouse keeper", "max_tokens": 16, "temperature": 0})
        texts[uid] = r.get("choices", [{}])[0].get("text", "")
    same = 0
    for a, b in zip(texts["gpu-chat"], texts["cpu-chat"]):
        if a != b:
            break
        same += 1
    print(f"INFO greedy text, GPU vs CPU: {same} of {len(texts['gpu-chat'])} characters agree before the first difference")


def check_embeddings(server, embed_model, rerank_model):
    texts = ["hello", "a lighthouse stands on the rock at the end of the harbour",
             "GPUs " * 60, "Ein Leuchtturm", "灯塔守护者", "x"]
    if server.launch("gpu-embed", embed_model, "embedding") and server.launch("cpu-embed", embed_model, "embedding", gpu=False):
        on_gpu(server, "gpu-embed", HOST_GPU)
        vecs = {}
        for uid in ("gpu-embed", "cpu-embed"):
            status, r = server.json("POST", "/v1/embeddings", {"model": uid, "input": texts})
            vecs[uid] = [d["embedding"] for d in r["data"]] if status == 200 else None
        if check("embeddings on both devices", all(vecs.values())):
            worst = min(cosine(a, b) for a, b in zip(vecs["gpu-embed"], vecs["cpu-embed"]))
            check("embeddings: GPU vectors match the CPU's (cosine >= 0.999)", worst >= 0.999, f"lowest cosine {worst:.6f}")
    if server.launch("gpu-rerank", rerank_model, "rerank") and server.launch("cpu-rerank", rerank_model, "rerank", gpu=False):
        on_gpu(server, "gpu-rerank", HOST_GPU)
        scores = {}
        for uid in ("gpu-rerank", "cpu-rerank"):
            status, r = server.json("POST", "/v1/rerank", {"model": uid, "query": "lighthouse", "documents": texts})
            scores[uid] = {x["index"]: x["relevance_score"] for x in r["results"]} if status == 200 else None
        if check("rerank on both devices", all(scores.values())):
            diff = max(abs(scores["gpu-rerank"][i] - scores["cpu-rerank"][i]) for i in range(len(texts)))
            check("rerank: GPU scores match the CPU's (within 1e-3)", diff <= 1e-3, f"largest difference {diff:.2e}")


def tone_wav(seconds=2.0, rate=16000):
    n = int(seconds * rate)
    pcm = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n))
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", len(pcm)) + pcm)


def check_whisper(server, model):
    if not server.launch("gpu-stt", model, "audio"):
        return
    on_gpu(server, "gpu-stt", HOST_GPU)
    boundary = "xinfergpucheck"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpu-stt\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\nverbose_json\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tone.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode() + tone_wav() + f"\r\n--{boundary}--\r\n".encode()
    status, raw = server.call("POST", "/v1/audio/transcriptions", raw=body,
                              headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = json.loads(raw) if status == 200 else {}
    check("gpu-stt: transcription", status == 200 and abs(r.get("duration", 0) - 2.0) < 0.05,
          f"duration {r.get('duration')}" if status == 200 else f"{status} {raw[:200]!r}")


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(repo, "build", "bin"), help="folder with xinfer (default build/bin)")
    ap.add_argument("--bundle", help="an unpacked offline bundle (xinfer bundle create): started with its run.sh")
    ap.add_argument("--only", default="chat,embeddings,whisper", help="which checks, comma-separated (default all)")
    ap.add_argument("--models", default=os.path.join(repo, "build", "test-models"), help="the test models (build/test-models)")
    a = ap.parse_args()
    smi = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    if not check("nvidia-smi lists a GPU", smi.returncode == 0 and "GPU 0" in smi.stdout, smi.stdout.strip() or smi.stderr.strip()):
        return 1
    server = Server([os.path.join(a.bundle, "run.sh")] if a.bundle else [os.path.join(a.bin, "xinfer"), "serve"])
    try:
        _, devices = server.json("GET", "/v1/cluster/devices")
        check("xinfer sees the GPUs", len(devices.get("gpus", [])) >= 1, json.dumps(devices.get("gpus")))
        only = a.only.split(",")
        if "chat" in only:
            check_chat(server, os.path.join(a.models, "tiny-chat.gguf"))
        if "embeddings" in only:
            check_embeddings(server, os.path.join(a.models, "tiny-embed.gguf"), os.path.join(a.models, "tiny-rerank.gguf"))
        if "whisper" in only:
            check_whisper(server, os.path.join(a.models, "tiny-whisper.bin"))
        engine_pids = {server.replica(u)["pid"] for u in ("gpu-chat", "gpu-embed", "gpu-rerank", "gpu-stt")
                       if server.call("GET", f"/v1/models/{u}")[0] == 200}
        _, listed = server.json("GET", "/v1/models")
        for m in listed.get("data", []):
            server.call("DELETE", f"/v1/models/{m['id']}")
        time.sleep(1)
        left = engine_pids & set(gpu_pids())
        check("terminated engines gave the GPU back", not left, f"still on the GPU: {sorted(left)}" if left else "")
    finally:
        server.stop()
        if failures or sys.exc_info()[0] is not None:
            print(f"service log: {server.log.name}")  # its home is kept to be read
        else:
            shutil.rmtree(server.home, ignore_errors=True)
    print("gpu-check: " + ("all passed" if not failures else f"{len(failures)} failed: " + ", ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
