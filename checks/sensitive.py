"""Sensitive data: personal data and secrets in training rows, shown only redacted.

What it checks
  Scans the input, output and system prompt of every valid training row, and every other string
  of its record (tool definitions, message names, extra fields, field names), for:
    email     e-mail addresses (image names like icon@2x.png are not addresses)
    phone     phone numbers: international (+CC …), North American ((415) 555-2671, 415-555-2671,
              415.555.2671), national numbers with a trunk 0 (020 7946 0958, 07700 900123,
              01 23 45 67 89), and bare digit runs right after a word like "phone", "call me on"
              or "mobile". One separator kind per number, 7–15 digits; dates, prices, order
              numbers and plain digit runs are not phone numbers
    card      payment card numbers: 13–19 digits, plain or in groups of 4 (Amex 4-6-5), a card
              network prefix (2, 3, 4, 5, 6) and a valid Luhn checksum
    iban      IBANs: country code, check digits, 11–30 more characters, mod-97 checksum valid
    ip        IPv4 and IPv6 addresses that are globally routable (the ones that can identify a
              subscriber): private (10.x, 192.168.x, fc00::/7), loopback, link-local, multicast,
              reserved and documentation ranges are skipped, and so are dotted version numbers
              (after "v", "version", "release", "build", …, or all four parts single digits)
    api_key   API keys and tokens: OpenAI / Anthropic (sk-…), AWS access key ids (AKIA…, ASIA…)
              and secret keys (after aws_secret_access_key), GitHub (ghp_…, gho_…, github_pat_…),
              Slack (xoxb-…, webhook URLs), Google (AIza…), Stripe (sk_live_…, rk_live_…,
              sk_test_…), Hugging Face (hf_…), and JSON Web Tokens (eyJ….eyJ….…). Prefixes that
              also start ordinary words (sk-, hf_) must be followed by a random-looking body
              (upper case, lower case and digits)
    private_key   PEM / OpenSSH / PGP private key blocks (-----BEGIN … PRIVATE KEY-----)
  Each kind found gives one finding naming its lines. Matches are shown redacted everywhere
  (messages, finding data, the terminal and HTML reports): j***@e***.com, +** ** **** **58,
  **** **** **** 4242, DE89 **** 00, 192.x.x.x, sk-…abcd. The full value never leaves the
  training file. Generic passwords and names or postal addresses are not detected.
  Measured on real sets (bench/sensitive_scan.py): Banking77 train, GSM8K train, CLINC150 (all
  23,700 rows), the cookbook's dbpedia and drone sets flag nothing; self-instruct flags only the
  contact details its authors wrote into three tasks (e-mail addresses at email.com in a
  conference summary and a cover letter, a bank's alert sender address in an e-mail, and a business's
  phone number in a listing): real matches, not false positives.

Why it matters
  A fine-tuned model can memorise rare strings seen during training and repeat them to other
  users: a customer's e-mail or phone number, a card number, or a live API key pasted into a
  support transcript. Secrets must be revoked and removed; personal data needs a legal basis
  (GDPR, CCPA) and is usually better replaced with placeholders.

Failing example
  support.jsonl line 42 (output): "use the key sk-…9f3a to call the API" → PII006 (error);
  lines 7, 19: "reach me at j***@g***.com" → PII001 (warning).

How to fix
  Revoke every leaked key or token, then remove it. Replace personal data with consistent
  placeholders ([EMAIL], [PHONE], [CARD]) or synthetic values, or drop the rows. Add addresses
  and values that are meant to be there (your support address, documentation examples) to
  `allow_domains` / `allow_patterns`.

Config ([sensitive] in ftaudit.toml)
  kinds = ["email", "phone", "card", "iban", "ip", "api_key", "private_key"]   what to look for
  fields = ["input", "output", "system", "record"]   which texts of a row are scanned ("record": every
                                     other string of the raw record, e.g. tools, names, extra fields)
  allow_domains = ["example.com", "example.org", "example.net", "example.edu", "test", "invalid",
                   "localhost"]   e-mail domains (and their subdomains) that are not personal data
  allow_patterns = ["(?i)example"]   regular expressions: a match containing one is ignored
                                     (e.g. AWS's documented key AKIAIOSFODNN7EXAMPLE)
  examples_shown = 5     redacted examples quoted per finding
  max_rows_listed = 200  rows whose redacted matches are listed in a finding's data

Codes
  PII001 e-mail addresses · PII002 phone numbers · PII003 payment card numbers · PII004 IBANs
  PII005 IP addresses · PII006 API keys and tokens · PII007 private key blocks
  Secrets (PII003, PII006, PII007) are errors and fail the check; personal data (PII001,
  PII002, PII004, PII005) are warnings.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.evidence import SensitiveEvidence
from auditor.results import CheckResult, Finding

if TYPE_CHECKING:
    from auditor.context import AuditContext

ID = "sensitive"
FAMILY = "PII"
CODES = {
    "PII001": "e-mail addresses",
    "PII002": "phone numbers",
    "PII003": "payment card numbers",
    "PII004": "IBANs",
    "PII005": "IP addresses",
    "PII006": "API keys and tokens",
    "PII007": "private key blocks",
}
DEFAULTS: dict[str, Any] = {
    "kinds": ["email", "phone", "card", "iban", "ip", "api_key", "private_key"],
    "fields": ["input", "output", "system", "record"],
    "allow_domains": ["example.com", "example.org", "example.net", "example.edu", "test", "invalid", "localhost"],
    "allow_patterns": ["(?i)example"],
    "examples_shown": 5,
    "max_rows_listed": 200,
}
SECRET_KINDS = ("card", "api_key", "private_key")
IMAGE_SUFFIXES = ("png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico")


@dataclass(frozen=True)
class Match:
    kind: str
    value: str
    redacted: str
    detail: str = ""


def mask_digits(value: str, keep: int) -> str:
    """Every digit but the last `keep` replaced by '*', separators kept."""
    total = sum(c.isdigit() for c in value)
    out, seen = [], 0
    for c in value:
        if c.isdigit():
            seen += 1
            out.append(c if seen > total - keep else "*")
        else:
            out.append(c)
    return "".join(out)


def redact_email(value: str) -> str:
    local, domain = value.split("@", 1)
    labels = domain.split(".")
    return f"{local[0]}***@{labels[0][0]}***.{labels[-1]}"


def redact_token(value: str, prefix: str) -> str:
    return f"{prefix}…{value[-4:]}"


EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)


def find_emails(text: str, config: Mapping[str, Any]) -> Iterator[Match]:
    allowed = [d.lower() for d in config["allow_domains"]]
    for m in EMAIL.finditer(text):
        domain = m.group().split("@", 1)[1].lower()
        if domain.rsplit(".", 1)[-1] in IMAGE_SUFFIXES or any(domain == d or domain.endswith("." + d) for d in allowed):
            continue
        yield Match("email", m.group(), redact_email(m.group()))


PHONE_WORDS = (
    r"(?i)\b(?:phone|telephone|tel|mobile|cell|fax|whatsapp|sms|call(?: me)?(?: on| at)?|text me(?: on| at)?)"
    r"\b(?: (?:no\.?|number|#))?[ :.#-]{0,3}"
)
PHONE_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w-])(?!\.\d)")
PHONE_NANP = re.compile(
    r"(?<![\w+.-])(?:1[ .-])?(?:\(([2-9]\d\d)\) ?|([2-9]\d\d)([ .-]))[2-9]\d\d([ .-])\d{4}(?![\w-])(?!\.\d)"
)
PHONE_TRUNK = re.compile(r"(?<![\w+.-])0\d{1,4}(?:([ -])\d{2,8})(?:\1\d{2,8}){0,3}(?![\w-])(?!\.\d)")
PHONE_AFTER_WORD = re.compile(PHONE_WORDS + r"(\+?\d{7,15})(?![\w-])(?!\.\d)")
PHONE_WORD_BEFORE = re.compile(PHONE_WORDS + "$")
SEVEN_DIGITS = re.compile(r"\d{7}")
DATE = re.compile(r"\d{1,4}[-./]\d{1,2}[-./]\d{1,4}")


def digit_count(value: str) -> int:
    return sum(c.isdigit() for c in value)


def find_phones(text: str, config: Mapping[str, Any]) -> Iterator[Match]:
    spans: list[tuple[int, int]] = []
    for m in PHONE_INTERNATIONAL.finditer(text):
        body = m.group()[1:].replace("(", "").replace(")", "")
        if 8 <= digit_count(body) <= 15 and not DATE.search(body):
            spans.append(m.span())
    for m in PHONE_NANP.finditer(text):
        parenthesised, _, first_sep, second_sep = m.groups()
        spaced = not parenthesised and first_sep == " "
        if (parenthesised or first_sep == second_sep) and (
            not spaced or PHONE_WORD_BEFORE.search(text[max(0, m.start() - 30) : m.start()])
        ):
            spans.append(m.span())
    for m in PHONE_TRUNK.finditer(text):
        if 10 <= digit_count(m.group()) <= 11 and not DATE.search(m.group()):
            spans.append(m.span())
    if SEVEN_DIGITS.search(text):
        spans.extend(m.span(1) for m in PHONE_AFTER_WORD.finditer(text))
    taken: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if any(s <= start < e for s, e in taken):
            continue
        taken.append((start, end))
        yield Match("phone", text[start:end], mask_digits(text[start:end], 2))


CARD = re.compile(
    r"(?<![\w.,+-])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}|3[47]\d\d([ -])\d{6}\2\d{5}|\d{13,19})(?![\w-])(?!\.\d)"
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def find_cards(text: str, config: Mapping[str, Any]) -> Iterator[Match]:
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and len(set(digits)) > 1 and luhn_valid(digits):
            yield Match("card", m.group(), mask_digits(m.group(), 4))


IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")


def iban_valid(compact: str) -> bool:
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def find_ibans(text: str, config: Mapping[str, Any]) -> Iterator[Match]:
    for m in IBAN.finditer(text):
        compact = m.group().replace(" ", "")
        if iban_valid(compact):
            yield Match("iban", m.group(), f"{compact[:4]} **** {compact[-2:]}")


OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"(?<![\w.]){OCTET}(?:\.{OCTET}){{3}}(?![\w]|\.\d)")
IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
VERSION_CONTEXT = re.compile(r"(?i)\b(?:v|version|ver\.?|release|build|firmware|update|rev\.?)\s*$")


def public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast: private, loopback, link-local, documentation and reserved ranges are not."""
    return address.is_global and not address.is_multicast


def find_ips(text: str, config: Mapping[str, Any]) -> Iterator[Match]:
    for m in IPV4.finditer(text):
        parts = m.group().split(".")
        if all(len(p) == 1 for p in parts) or VERSION_CONTEXT.search(text[max(0, m.start() - 12) : m.start()]):
            continue
        if public_address(ipaddress.IPv4Address(m.group())):
            yield Match("ip", m.group(), f"{parts[0]}.x.x.x")
    for m in IPV6.finditer(text) if "::" in text or text.count(":") >= 3 else ():
        groups = [g for g in m.group().split(":") if g]
        if len(groups) < 3 or sum(map(len, groups)) < 8:
            continue
        try:
            address = ipaddress.IPv6Address(m.group())
        except ValueError:
            continue
        if public_address(address):
            yield Match("ip", m.group(), f"{groups[0]}:…")


KEY_PREFIXES = re.compile(r"sk-|[sr]k_|AKIA|ASIA|(?i:aws_?secret)|gh[pousr]_|github_pat_|xox|hooks\.slack|AIza|hf_|eyJ")
RANDOM_BODY = re.compile(r"(?=.*[a-z])(?=.*[A-Z])(?=.*\d)")
API_KEYS: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    ("anthropic", re.compile(r"(?<![\w-])(sk-ant-(?:api03-|admin01-)?)([A-Za-z0-9_-]{20,})"), True),
    ("openai", re.compile(r"(?<![\w-])(sk-(?:proj-|svcacct-|admin-)?)(?!ant-)([A-Za-z0-9_-]{20,})"), True),
    ("stripe", re.compile(r"(?<![\w-])((?:sk|rk)_(?:live|test)_)([0-9A-Za-z]{16,})"), False),
    ("aws", re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)([A-Z0-9]{16})(?![A-Z0-9])"), False),
    ("aws secret", re.compile(r"(?i)(aws_?secret_?access_?key\W{0,4})([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"), False),
    ("github", re.compile(r"(?<![\w-])(gh[pousr]_|github_pat_)([A-Za-z0-9_]{22,255})"), False),
    ("slack", re.compile(r"(?<![\w-])(xox[abposr]-)([A-Za-z0-9-]{10,})"), False),
    ("slack webhook", re.compile(r"(https://hooks\.slack\.com/services/)(T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+)"), False),
    ("google", re.compile(r"(?<![\w-])(AIza)([0-9A-Za-z_-]{35})(?![\w-])"), False),
    ("huggingface", re.compile(r"(?<![\w-])(hf_)([A-Za-z0-9]{30,})"), True),
    ("jwt", re.compile(r"(?<![\w-])(eyJ)([A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"), False),
)


def find_api_keys(text: str, config: Mapping[str, Any]) -> Iterator[Match]:
    if not KEY_PREFIXES.search(text):
        return
    taken: list[tuple[int, int]] = []
    for provider, pattern, needs_random_body in API_KEYS:
        for m in pattern.finditer(text):
            if needs_random_body and not RANDOM_BODY.match(m.group(2)):
                continue
            if any(s <= m.start() < e for s, e in taken):
                continue
            taken.append(m.span())
            yield Match("api_key", m.group(), redact_token(m.group(), m.group(1)), provider)


PRIVATE_KEY = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----")


def find_private_keys(text: str, config: Mapping[str, Any]) -> Iterator[Match]:
    """The whole block, header to footer (or to the end of the text when the footer is missing), so
    redacting the match leaves nothing of the key body behind."""
    for m in PRIVATE_KEY.finditer(text):
        footer = text.find(f"-----END {m.group(1)}-----", m.end())
        end = footer + len(f"-----END {m.group(1)}-----") if footer >= 0 else len(text)
        yield Match("private_key", text[m.start() : end], f"-----BEGIN {m.group(1)}----- …", m.group(1))


Finder = Callable[[str, Mapping[str, Any]], Iterator[Match]]
KINDS: dict[str, tuple[str, str, Finder]] = {
    "private_key": ("PII007", "private key block(s)", find_private_keys),
    "api_key": ("PII006", "API key(s) or token(s)", find_api_keys),
    "card": ("PII003", "payment card number(s)", find_cards),
    "iban": ("PII004", "IBAN(s)", find_ibans),
    "email": ("PII001", "e-mail address(es)", find_emails),
    "ip": ("PII005", "IP address(es)", find_ips),
    "phone": ("PII002", "phone number(s)", find_phones),
}


def scan(text: str, kinds: Sequence[str], allow: Sequence[re.Pattern[str]], config: Mapping[str, Any]) -> list[Match]:
    """Every match in `text`, secrets first; a span found by one kind is not reported again by a later one."""
    found: list[Match] = []
    for kind in KINDS:
        if kind not in kinds:
            continue
        for match in KINDS[kind][2](text, config):
            if not any(p.search(match.value) for p in allow):
                found.append(match)
        for match in found:
            text = text.replace(match.value, " " * len(match.value))
    return found


def redaction_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str], list[re.Pattern[str]]]:
    """The user's [sensitive] settings for redaction: secrets are always masked, a bad pattern falls back to the
    defaults."""
    merged = {**DEFAULTS, **config}
    kinds = [k for k in KINDS if k in merged["kinds"] or k in SECRET_KINDS]
    try:
        allow = [re.compile(p) for p in merged["allow_patterns"]]
    except (re.error, TypeError):
        allow = [re.compile(p) for p in DEFAULTS["allow_patterns"]]
    return merged, kinds, allow


def redact_text(text: str, config: Mapping[str, Any] = DEFAULTS) -> str:
    """`text` with every match of the configured kinds replaced by its redacted form (for other checks' snippets)."""
    merged, kinds, allow = redaction_config(config)
    for match in scan(text, kinds, allow, merged):
        text = text.replace(match.value, match.redacted)
    return text


def record_strings(value: Any) -> Iterator[str]:
    """Every string in a raw record: values at any depth and the field names."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from record_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from record_strings(item)


def raw_records(ctx: AuditContext) -> dict[int, Any]:
    """The training file's raw records by line (read again: the loader keeps only the normalised fields)."""
    from auditor.load import read_records

    records = read_records(ctx.train.path, "train")[0]
    return {r.line: r.record for r in records if r.record is not None}


def kind_finding(name: str, kind: str, hits: list[tuple[int, str, Match]], config: Mapping[str, Any]) -> Finding:
    code, title, _ = KINDS[kind]
    rows = sorted({line for line, _, _ in hits})
    examples = list(dict.fromkeys(match.redacted for _, _, match in hits))[: config["examples_shown"]]
    fields = Counter(field for _, field, _ in hits)
    by_line: dict[str, list[str]] = {}
    for line, _, match in hits:
        if len(by_line) < config["max_rows_listed"] or str(line) in by_line:
            by_line.setdefault(str(line), []).append(match.redacted)
    where = ", ".join(f"{field} {n}" for field, n in fields.most_common())
    message = f"{name}: {len(hits)} {title} in {len(rows)} row(s) ({where}), e.g. {', '.join(examples)}"
    data: dict[str, Any] = {
        "kind": kind,
        "matches": len(hits),
        "rows": len(rows),
        "examples": examples,
        "by_field": dict(fields),
        "redacted_by_line": by_line,
    }
    details = Counter(match.detail for _, _, match in hits if match.detail)
    if details:
        data["by_type"] = dict(details)
        message += f" ({', '.join(f'{d}: {n}' for d, n in details.most_common())})"
    severity = "error" if kind in SECRET_KINDS else "warning"
    return Finding(code, severity, message, tuple(rows), data)


def scan_records(
    ctx: AuditContext,
    lines: set[int],
    hits: dict[str, list[tuple[int, str, Match]]],
    scan_text: Callable[[str], list[Match]],
) -> None:
    """Add matches found only in the raw records' other strings (tools, message names, extra fields)."""
    known: dict[int, set[str]] = {}
    for kind_hits in hits.values():
        for line, _, match in kind_hits:
            known.setdefault(line, set()).add(match.value)
    memo: dict[str, list[Match]] = {}
    for line, record in raw_records(ctx).items():
        if line not in lines:
            continue
        seen = known.get(line, set())
        for text in record_strings(record):
            if text not in memo:
                memo[text] = scan_text(text) if len(text) >= 7 else []
            for match in memo[text]:
                if match.value not in seen and not any(match.value in value for value in seen):
                    seen.add(match.value)
                    hits.setdefault(match.kind, []).append((line, "record", match))


def run(ctx: AuditContext, config: Mapping[str, Any]) -> CheckResult:
    unknown = sorted(set(config["kinds"]) - set(KINDS)) + sorted(set(config["fields"]) - set(DEFAULTS["fields"]))
    if unknown:
        return CheckResult(
            ID,
            "error",
            f"unknown kinds or fields in [sensitive]: {', '.join(unknown)} "
            f"(kinds: {', '.join(KINDS)}; fields: {', '.join(DEFAULTS['fields'])})",
        )
    try:
        allow = [re.compile(p) for p in config["allow_patterns"]]
    except re.error as exc:
        return CheckResult(ID, "error", f"invalid regular expression in sensitive.allow_patterns: {exc}")
    train = ctx.train
    if train.rows_valid == 0:
        return CheckResult(ID, "skipped", "no valid training rows to scan")
    valid = train.valid
    lines = valid["line"].to_list()
    hits: dict[str, list[tuple[int, str, Match]]] = {}
    for field in [f for f in config["fields"] if f != "record"]:
        memo: dict[str, list[Match]] = {}
        for line, text in zip(lines, valid[field].to_list()):
            if not text:
                continue
            if text not in memo:
                memo[text] = scan(text, config["kinds"], allow, config)
            for match in memo[text]:
                hits.setdefault(match.kind, []).append((line, field, match))
    if "record" in config["fields"] and train.format != "text":
        scan_records(ctx, set(lines), hits, lambda text: scan(text, config["kinds"], allow, config))
    name = train.path.name
    findings = [kind_finding(name, kind, hits[kind], config) for kind in KINDS if kind in hits]
    affected: dict[int, set[str]] = {}
    for kind, kind_hits in hits.items():
        for line, _, _ in kind_hits:
            affected.setdefault(line, set()).add(kind)
    secrets = sum(len(hits.get(kind, [])) for kind in SECRET_KINDS)
    personal = sum(len(v) for kind, v in hits.items() if kind not in SECRET_KINDS)
    metrics = {
        "rows_scanned": len(lines),
        "kinds_checked": list(config["kinds"]),
        "fields_scanned": list(config["fields"]),
        "matches_by_kind": {kind: len(hits.get(kind, [])) for kind in KINDS if kind in config["kinds"]},
        "rows_by_kind": {
            kind: len({line for line, _, _ in hits.get(kind, [])}) for kind in KINDS if kind in config["kinds"]
        },
        "rows_affected": len(affected),
        "secrets_found": secrets,
        "personal_data_found": personal,
    }
    status = "fail" if secrets else ("warn" if personal else "pass")
    if not hits:
        summary = f"no personal data or secrets found in {len(lines)} rows ({', '.join(config['kinds'])})"
    else:
        found = ", ".join(f"{len(hits[k])} {KINDS[k][1]}" for k in KINDS if k in hits)
        summary = f"{found} in {len(affected)} of {len(lines)} rows"
    row_values = {"train": {"sensitive": {line: ",".join(sorted(kinds)) for line, kinds in affected.items()}}}
    evidence = SensitiveEvidence(
        tuple((k, len(hits[k])) for k in KINDS if k in hits),
        tuple(sorted(affected)),
        tuple(k for k in SECRET_KINDS if k in hits),
    )
    return CheckResult(ID, status, summary, metrics, tuple(findings), row_values, evidence=(evidence,))
