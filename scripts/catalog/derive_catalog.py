#!/usr/bin/env python3
"""Re-derives xinfer's built-in catalog (catalog/*.json) from Xinference's own spec files.

    python3 scripts/catalog/derive_catalog.py XINFERENCE_CHECKOUT [--commit SHA]

XINFERENCE_CHECKOUT is a checkout of github.com/xorbitsai/inference (or any folder holding its
xinference/model/{llm/llm_family.json,embedding,rerank,audio/model_spec.json}). The facts carry
over: names, sizes, quantizations, hub ids, file-name templates, context lengths, languages,
abilities, chat templates and stop tokens. What xinfer knows beyond them lives in
catalog/overlay/<type>.json: models Xinference dropped or never had (chatglm3, the built-in
speech engines), GGUF sources for models Xinference only lists in PyTorch format, whisper.cpp's
ggml files for the whisper names, and each embedding/rerank model's architecture, from which the
script decides whether xinfer can serve it.

Also writes catalog/upstream/xinference-names.json: every name per type in Xinference's files,
which tests/e2e/catalog.test.mjs checks the catalog against (nothing missing, nothing renamed).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CATALOG = os.path.join(ROOT, "catalog")

SPEC_FILES = {
    "llm": "xinference/model/llm/llm_family.json",
    "embedding": "xinference/model/embedding/model_spec.json",
    "rerank": "xinference/model/rerank/model_spec.json",
    "audio": "xinference/model/audio/model_spec.json",
}

# Family fields xinfer reads or shows (Xinference's packaging fields, virtualenv, updated_at,
# featured, are left out).
LLM_FIELDS = ["version", "context_length", "model_name", "model_lang", "model_ability", "model_description",
              "model_specs", "chat_template", "stop_token_ids", "stop", "reasoning_start_tag", "reasoning_end_tag",
              "tool_parser", "architectures", "model_type", "xinfer_note"]
# Abilities xinfer serves through llama-server. Xinference's "vision", "audio" and "omni" need a
# projector (mmproj) that xinfer does not pass to the engine yet, so they are not claimed.
LLM_ABILITIES = ["chat", "generate", "tools", "reasoning", "hybrid"]
SPEC_SOURCE_DROP = {"draft_model_id", "draft_model_file_name_template", "draft_quantizations"}

EMBED_FIELDS = ["version", "model_name", "dimensions", "max_tokens", "language", "model_description", "type",
                "model_specs", "architecture", "launchable", "reason"]
AUDIO_FIELDS = ["version", "model_name", "model_family", "model_ability", "multilingual", "model_lang",
                "model_description", "default_voice", "voices", "model_src", "launchable", "reason"]

# Hugging Face architectures xinfer's own converter turns into GGUF (src/convert/arch_bert.cpp).
CONVERTIBLE = {"BertModel", "XLMRobertaModel", "BertForSequenceClassification",
               "XLMRobertaForSequenceClassification"}

# Audio families xinfer has an engine for; the others are listed with the reason.
AUDIO_ENGINES = {"whisper", "pocketsphinx", "flite", "espeak-ng", "qwen3_asr", "qwen3_tts", "pocket_tts"}
AUDIO_REASONS = {
    "funasr": "FunASR models (SenseVoice, Paraformer, Fun-ASR) need FunASR's PyTorch runtime; xinfer has no engine for them",
    "campplus": "CAM++ speaker verification is not a speech-to-text or text-to-speech model; xinfer has no engine for it",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def dump(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")


def first_by_name(entries):
    """Xinference lists some names twice (an MLX variant after the main one): the first wins."""
    out = {}
    for e in entries:
        out.setdefault(e["model_name"], e)
    return out


def merge(upstream, overlay):
    """Overlay keys replace upstream ones, except model_specs, which go first (xinfer's GGUF
    sources before Xinference's)."""
    merged = dict(upstream)
    for k, v in overlay.items():
        if k == "model_specs" and "model_specs" in upstream:
            merged[k] = v + [s for s in upstream["model_specs"] if s not in v]
        else:
            merged[k] = v
    return merged


def without_byte_splits(src):
    """A few old 70B entries are GGUFs cut into byte pieces (file.gguf.a, file.gguf.b) that must be
    concatenated before llama.cpp can read them; xinfer does not join them, so those quantizations
    are left out (llama.cpp's own -00001-of-0000N.gguf splits are kept: the engine reads them)."""
    template = src.get("model_file_name_split_template", "")
    parts = src.get("quantization_parts") or {}
    if parts and src.get("quantizations") in (None, [], ["none"]) and not src.get("model_file_name_template"):
        # Some split-only entries list "none" and name the real quantizations only in their parts.
        src = dict(src, quantizations=list(parts))
    if not template or template.endswith(".gguf"):
        return src
    src = dict(src)
    cut = set(src.pop("quantization_parts", {}))
    src.pop("model_file_name_split_template")
    src["quantizations"] = [q for q in src.get("quantizations", []) if q not in cut]
    return src


def clean_spec(spec):
    spec = {k: v for k, v in spec.items() if k not in SPEC_SOURCE_DROP}
    if isinstance(spec.get("model_src"), dict):
        spec["model_src"] = {hub: without_byte_splits({k: v for k, v in src.items() if k not in SPEC_SOURCE_DROP})
                             for hub, src in spec["model_src"].items()}
    return spec


def pick(entry, fields):
    return {k: entry[k] for k in fields if k in entry}


def derive_llm(upstream, overlay):
    out = []
    over = first_by_name(overlay)
    for name, fam in first_by_name(upstream).items():
        fam = merge(fam, over.pop(name, {}))
        specs = [clean_spec(s) for s in fam["model_specs"] if s.get("model_format") == "ggufv2"]
        if not specs:
            continue  # only families xinfer can fetch and serve as GGUF
        fam = pick(fam, LLM_FIELDS)
        fam["model_specs"] = specs
        fam["model_ability"] = [a for a in fam.get("model_ability", []) if a in LLM_ABILITIES]
        out.append(fam)
    out += [pick(e, LLM_FIELDS) for e in over.values()]  # xinfer's own
    return out


def derive_encoder(upstream, overlay, kind):
    out = []
    over = first_by_name(overlay)
    ordered = list(first_by_name(upstream).items()) + [(n, {}) for n in over if n not in first_by_name(upstream)]
    for name, model in ordered:
        model = merge(model, over.get(name, {}))
        model.setdefault("version", 2)
        specs = [clean_spec(s) for s in model.get("model_specs", [])]
        arch = model.get("architecture", "")
        has_gguf = any(s.get("model_format") == "ggufv2" for s in specs)
        if has_gguf or arch in CONVERTIBLE:
            # GGUF files as they are, or Hugging Face weights xinfer converts; other formats of
            # an architecture it cannot convert would never load.
            model["model_specs"] = [s for s in specs if s.get("model_format") == "ggufv2" or arch in CONVERTIBLE]
            model["launchable"] = True
            model.pop("reason", None)
        else:
            model["model_specs"] = specs
            model["launchable"] = False
            model["reason"] = (f"{name} is a {arch or 'model'} {kind} model: llama.cpp has no GGUF of it in the catalog and "
                               f"xinfer's converter takes BERT and XLM-RoBERTa weights only; launch a GGUF of it with model_path")
        out.append(pick(model, EMBED_FIELDS))
    return out


def derive_audio(upstream, overlay):
    out = []
    over = first_by_name(overlay)
    ups = first_by_name(upstream)
    ordered = list(over.items()) + [(n, {}) for n in ups if n not in over]
    for name, extra in ordered:
        model = merge(ups.get(name, {}), extra)
        model.setdefault("version", 2)
        family = model.get("model_family", "")
        if family in AUDIO_ENGINES:
            model["launchable"] = True
            model.pop("reason", None)
        else:
            model["launchable"] = False
            model["reason"] = AUDIO_REASONS.get(
                family, f"{name} ({family}) needs its own PyTorch runtime; xinfer's speech engines are whisper.cpp, "
                        f"llama.cpp's audio models (Qwen3-ASR, Qwen3-TTS), pocketsphinx, flite and espeak-ng")
        out.append(pick(model, AUDIO_FIELDS))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("xinference", help="checkout of xorbitsai/inference")
    ap.add_argument("--commit", default="", help="the checkout's commit, recorded in upstream/xinference-names.json")
    args = ap.parse_args()
    upstream = {t: load(os.path.join(args.xinference, p)) for t, p in SPEC_FILES.items()}
    overlay = {t: load(os.path.join(CATALOG, "overlay", t + ".json")) for t in SPEC_FILES}
    catalog = {
        "llm": derive_llm(upstream["llm"], overlay["llm"]),
        "embedding": derive_encoder(upstream["embedding"], overlay["embedding"], "embedding"),
        "rerank": derive_encoder(upstream["rerank"], overlay["rerank"], "rerank"),
        "audio": derive_audio(upstream["audio"], overlay["audio"]),
    }
    for t, entries in catalog.items():
        dump(os.path.join(CATALOG, t + ".json"), entries)
    names = {
        "source": "github.com/xorbitsai/inference",
        "commit": args.commit,
        # LLM families count only where Xinference has GGUF files (what xinfer serves).
        "llm": sorted(f["model_name"] for f in first_by_name(upstream["llm"]).values()
                      if any(s.get("model_format") == "ggufv2" for s in f["model_specs"])),
        "embedding": sorted(first_by_name(upstream["embedding"])),
        "rerank": sorted(first_by_name(upstream["rerank"])),
        "audio": sorted(first_by_name(upstream["audio"])),
    }
    dump(os.path.join(CATALOG, "upstream", "xinference-names.json"), names)
    for t, entries in catalog.items():
        usable = sum(1 for e in entries if e.get("launchable", True))
        print(f"{t}: {len(entries)} models, {usable} launchable", file=sys.stderr)


if __name__ == "__main__":
    main()
