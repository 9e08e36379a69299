#!/usr/bin/python3
"""Checks that the documentation covers what the module registers and uses.

Run by scripts/test.sh. Standard library only. Fails (exit 1), naming each missing
item and where it belongs, unless:

  1. every directive registered in mod_isbalancer/httpd/directives.cpp (AP_INIT_*)
     is documented in conf/isbalancer.conf and in README.md or docs/*.md;
  2. every lbmethod name in mod_isbalancer/core/policy/selector.cpp's name list
     (kNames) appears in README.md's Configuration section;
  3. every log ID the sources use (ISB_LOGNO(000NN) under mod_isbalancer/) or list
     (mod_isbalancer/httpd/log_ids.hpp) has a row in docs/log-messages.md, every
     used ID is listed in log_ids.hpp (the page says the full list is there), and
     every documented ID exists; rows may group IDs: "ISB00012/13" is ISB00012 and
     ISB00013, "ISB00007/8" is ISB00007 and ISB00008;
  4. every status flag letter in mod_isbalancer/core/member/status.hpp's
     kStatusFlags appears in the README's status= parameter row;
  5. every relative link and #anchor in README.md and docs/*.md resolves (GitHub's
     heading anchors), and README.md links every docs/*.md.

A parser that finds nothing to check fails too: a checker that finds nothing must
not pass. The tree checked is this script's repository, or ISB_DOCS_ROOT, or
--root DIR.
"""

import os
import re
import sys
from pathlib import Path


class Checker:
    def __init__(self, root):
        self.root = root
        self.problems = []

    def fail(self, message):
        self.problems.append(message)

    def read(self, rel):
        path = self.root / rel
        try:
            return path.read_text(encoding="utf-8")
        except OSError as e:
            self.fail(f"{rel}: cannot read ({e.strerror})")
            return None


# --- C++ text helpers -----------------------------------------------------------

def strip_cpp_comments(text):
    """The text with // and /* */ comments blanked, string and char literals kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            segment = text[i:n if j < 0 else j + 2]
            out.append("\n" * segment.count("\n"))
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


STRING_LITERAL = r'"(?:[^"\\\n]|\\.)*"'


def literal_value(concatenated):
    """The value of adjacent C string literals ("ab" "cd" -> abcd), escapes kept."""
    return "".join(m.group(0)[1:-1] for m in re.finditer(STRING_LITERAL, concatenated))


def word_re(word):
    return re.compile(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])")


# --- Markdown helpers -------------------------------------------------------------

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


def blank_code(text):
    """Markdown text with fenced blocks and inline code spans blanked (newlines kept)."""
    lines = text.split("\n")
    fence = None
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            lines[i] = ""
        elif fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            lines[i] = ""
    text = "\n".join(lines)
    out = []
    i, n = 0, len(text)
    while i < n:
        if text[i] != "`":
            out.append(text[i])
            i += 1
            continue
        j = i
        while j < n and text[j] == "`":
            j += 1
        run = text[i:j]
        close = re.compile(r"(?<!`)" + run + r"(?!`)").search(text, j)
        if close is None:
            out.append(run)
            i = j
            continue
        out.append(re.sub(r"[^\n]", " ", text[i:close.end()]))
        i = close.end()
    return "".join(out)


def headings(text):
    """(level, text) of every ATX heading outside fenced code."""
    found = []
    fence = None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            continue
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        h = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if h:
            found.append((len(h.group(1)), h.group(2)))
    return found


def github_slug(heading):
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors_of(text):
    seen = {}
    out = set()
    for _, h in headings(text):
        slug = github_slug(h)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    for m in re.finditer(r"<a\s[^>]*\b(?:id|name)=\"([^\"]+)\"", text):
        out.add(m.group(1))
    return out


LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(\S+)", re.M)
HTML_ATTR = re.compile(r"<(?:a|img)\s[^>]*\b(?:href|src)=\"([^\"]+)\"", re.I)


def link_targets(text):
    """(line number, target) of every link, image and reference definition."""
    plain = blank_code(text)
    found = []
    for pattern in (LINK, REF_DEF, HTML_ATTR):
        for m in pattern.finditer(plain):
            target = m.group(1)
            if target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            found.append((plain.count("\n", 0, m.start()) + 1, target))
    return sorted(found)


def section(text, title):
    """The lines of the level-2 section `title`, subsections included, or None."""
    lines = text.split("\n")
    start = None
    for i, line in enumerate(lines):
        if start is None:
            if re.match(r"^##\s+" + re.escape(title) + r"\s*$", line):
                start = i
        elif re.match(r"^#{1,2}\s", line):
            return "\n".join(lines[start:i])
    return None if start is None else "\n".join(lines[start:])


# --- the checks -------------------------------------------------------------------

def check_directives(ck, doc_texts):
    rel = "mod_isbalancer/httpd/directives.cpp"
    src = ck.read(rel)
    if src is None:
        return 0
    code = strip_cpp_comments(src)
    calls = re.findall(r"\bAP_INIT_[A-Z0-9_]+\s*\(", code)
    names = [literal_value(m.group(1)) for m in re.finditer(
        r"\bAP_INIT_[A-Z0-9_]+\s*\(\s*((?:" + STRING_LITERAL + r"\s*)+),", code)]
    if not calls:
        ck.fail(f"{rel}: found no AP_INIT_* directive; check_docs.py no longer understands "
                "the file (fix the checker, not the docs)")
        return 0
    if len(names) != len(calls):
        ck.fail(f"{rel}: {len(calls)} AP_INIT_* entries but only {len(names)} with a string "
                "literal name; check_docs.py cannot read the others")
    conf_rel = "conf/isbalancer.conf"
    conf = ck.read(conf_rel) or ""
    for name in names:
        pattern = word_re(name)
        if not pattern.search(conf):
            ck.fail(f"directive {name} ({rel}) is not documented in {conf_rel}: "
                    "describe it in its comments")
        if not any(pattern.search(t) for t in doc_texts.values()):
            ck.fail(f"directive {name} ({rel}) is not documented in README.md or docs/*.md: "
                    "add it to the directive table in README.md's Configuration section")
    return len(names)


def check_lbmethods(ck, readme):
    rel = "mod_isbalancer/core/policy/selector.cpp"
    src = ck.read(rel)
    if src is None:
        return 0
    code = strip_cpp_comments(src)
    m = re.search(r"\bkNames\s*=\s*\{(.*?)\}", code, re.S)
    names = re.findall(STRING_LITERAL, m.group(1)) if m else []
    names = [n[1:-1] for n in names]
    if not names:
        ck.fail(f"{rel}: found no lbmethod names (the kNames list); check_docs.py no longer "
                "understands the file (fix the checker, not the docs)")
        return 0
    config = section(readme, "Configuration") if readme is not None else None
    if config is None:
        ck.fail("README.md has no '## Configuration' section to document the lbmethods in")
        return len(names)
    for name in names:
        if not word_re(name).search(config):
            ck.fail(f"lbmethod {name} ({rel}) is not in README.md's Configuration section: "
                    "add it to the lbmethod= row and to ### Methods")
    return len(names)


LEVELS = "emerg|alert|crit|error|warn|notice|info|debug|trace[1-8]"


# ISB00012, ISB00012/13 (ISB00012 and ISB00013), ISB00031-ISB00039 or ISB00031-39 (a range).
ID_GROUP = re.compile(r"ISB(\d{5})((?:\s*[/,]\s*\d{1,5})*)(?:\s*[-–]\s*(?:ISB)?(\d{1,5}))?")


def documented_ids(text):
    """Every ID in the first cell of a table row of log-messages.md, groups expanded."""
    ids = {}
    for lineno, line in enumerate(text.split("\n"), 1):
        cells = line.split("|")
        if not line.lstrip().startswith("|") or len(cells) < 3:
            continue
        first = cells[1]
        for m in ID_GROUP.finditer(first):
            base = m.group(1)
            group = [base]
            for suffix in re.findall(r"\d{1,5}", m.group(2) or ""):
                group.append(base[:5 - len(suffix)] + suffix)
            if m.group(3):
                end = base[:5 - len(m.group(3))] + m.group(3)
                group += [f"{n:05d}" for n in range(int(base) + 1, int(end) + 1)]
            for i in group:
                ids.setdefault(i, lineno)
    return ids


def check_log_ids(ck):
    used = {}
    src_root = ck.root / "mod_isbalancer"
    for path in sorted(src_root.rglob("*")):
        if path.suffix not in (".cpp", ".hpp", ".h", ".cc") or not path.is_file():
            continue
        text = strip_cpp_comments(path.read_text(encoding="utf-8", errors="replace"))
        for m in re.finditer(r"\bISB_LOGNO\s*\(\s*(\d{1,5})\s*\)", text):
            used.setdefault(f"{int(m.group(1)):05d}", path.relative_to(ck.root).as_posix())
    if not used:
        ck.fail("found no ISB_LOGNO(NNNNN) under mod_isbalancer/; check_docs.py no longer "
                "understands the sources (fix the checker, not the docs)")
    ids_rel = "mod_isbalancer/httpd/log_ids.hpp"
    ids_src = ck.read(ids_rel) or ""
    listed = {m.group(1): ids_rel for m in re.finditer(
        r"^\s*//\s*ISB(\d{5})\s+(?:" + LEVELS + r")\b", ids_src, re.M)}
    if not listed:
        ck.fail(f"{ids_rel}: found no '//   ISBNNNNN level  meaning' lines; check_docs.py no "
                "longer understands the file (fix the checker, not the docs)")
    doc_rel = "docs/log-messages.md"
    doc = ck.read(doc_rel)
    documented = documented_ids(doc) if doc is not None else {}
    if doc is not None and not documented:
        ck.fail(f"{doc_rel}: found no table row starting with an ISB ID")
    for i, where in sorted(used.items()):
        if i not in listed:
            ck.fail(f"ISB{i} is used ({where}) but not listed in {ids_rel}: add its line there")
    for i, where in sorted({**listed, **used}.items()):
        if i not in documented and doc is not None:
            ck.fail(f"ISB{i} ({where}) is not documented in {doc_rel}: add a row to its table "
                    "(level, meaning and fix, from the log call)")
    for i, lineno in sorted(documented.items()):
        if i not in used and i not in listed:
            ck.fail(f"{doc_rel}:{lineno}: ISB{i} is documented but neither used nor listed in "
                    f"{ids_rel}")
    return len(set(used) | set(listed))


def check_status_flags(ck, readme):
    rel = "mod_isbalancer/core/member/status.hpp"
    src = ck.read(rel)
    if src is None:
        return 0
    code = strip_cpp_comments(src)
    m = re.search(r"std::array<\s*StatusFlag\s*,\s*(\d+)\s*>\s*kStatusFlags\s*=\s*\{\{(.*?)\}\};",
                  code, re.S)
    letters = re.findall(r"\{\s*k\w+\s*,\s*'([A-Za-z])'", m.group(2)) if m else []
    if not letters:
        ck.fail(f"{rel}: found no flag letters in kStatusFlags; check_docs.py no longer "
                "understands the file (fix the checker, not the docs)")
        return 0
    if int(m.group(1)) != len(letters):
        ck.fail(f"{rel}: kStatusFlags declares {m.group(1)} flags but check_docs.py read "
                f"{len(letters)} letters")
    config = section(readme, "Configuration") if readme is not None else None
    rows = [line for line in (config or "").split("\n")
            if line.lstrip().startswith("|") and "`status=" in line]
    if not rows:
        ck.fail("README.md's Configuration section has no table row with `status=...`")
        return len(letters)
    documented = set()
    for span in re.findall(r"`([^`]+)`", rows[0]):
        s = re.match(r"^status=(.*)$", span)
        if s:
            documented.update(re.findall(r"[A-Za-z]", s.group(1)))
        elif re.fullmatch(r"[+-]?[A-Za-z]", span):
            documented.add(span[-1])
    for letter in letters:
        if letter not in documented:
            ck.fail(f"status flag {letter} ({rel}) is not in README.md's status= row: write it "
                    "in the `status=+…` code span or as `" + letter + "` with its meaning")
    return len(letters)


def check_manager_fields(ck):
    """Every form field parse_edit() takes and every key of the JSON edit API's
    "set" object is documented in docs/manager.md. The settings' fields and keys
    come from the schema's tables (core/config/schema.hpp), the status flags'
    keys from kStatusFlags, the request's own fields from parse_edit()."""
    schema_rel = "mod_isbalancer/core/config/schema.hpp"
    status_rel = "mod_isbalancer/core/member/status.hpp"
    edit_rel = "mod_isbalancer/core/manager/manager_edit.cpp"
    doc_rel = "docs/manager.md"
    schema, status, edit, doc = (ck.read(r) for r in (schema_rel, status_rel, edit_rel, doc_rel))
    if None in (schema, status, edit, doc):
        return 0
    entries = re.findall(r'\.name\s*=\s*"([a-z_]+)"\s*,\s*\.form\s*=\s*"([a-z_A-Z]+)"',
                         strip_cpp_comments(schema))
    if len(entries) < 10:
        ck.fail(f"{schema_rel}: found {len(entries)} schema entries; check_docs.py no longer "
                "understands the file (fix the checker, not the docs)")
        return 0
    pairs = [(name, form) for name, form in entries if not form.endswith("_")]
    # The status entry's form is a prefix: one w_status_X field and one key per
    # operator flag (those with a form label).
    flags = re.findall(r"\{k[A-Za-z]+,\s*'([A-Z])',\s*\"[^\"]*\",\s*\"([a-z_]+)\",\s*\"([^\"]*)\"\}",
                       strip_cpp_comments(status))
    if not flags:
        ck.fail(f"{status_rel}: found no kStatusFlags entries; check_docs.py no longer "
                "understands the file")
    for name, form in entries:
        if form.endswith("_"):
            pairs += [(key, form + letter) for letter, key, label in flags if label]
    code = strip_cpp_comments(edit)
    body = code[code.find("std::optional<EditRequest> parse_edit("):]
    own = set(re.findall(r'\bname == "([a-z_]+)"', body))
    if not own:
        ck.fail(f"{edit_rel}: found no request fields in parse_edit(); check_docs.py no "
                "longer understands it")
    fields = own | {form for _, form in pairs}
    for form in sorted(fields):
        if form.startswith("w_status_") and len(form) == len("w_status_") + 1:
            # The table writes the flags as `w_status_I`, `_N`, ...
            found = f"`w_status_{form[-1]}`" in doc or f"`_{form[-1]}`" in doc
        else:
            found = re.search("`" + re.escape(form) + "[`=]", doc) is not None
        if not found:
            ck.fail(f"manager form field {form} ({schema_rel}) is not in {doc_rel}: add it to "
                    "the form-field table")
    for key, form in pairs:
        if f"`{key}`" not in doc:
            ck.fail(f"JSON edit key set.{key} ({schema_rel}, form field {form}) is not in "
                    f"{doc_rel}: add it to the keys of `set`")
    return len(fields) + len(pairs)


def check_links(ck, doc_texts):
    anchors = {}

    def anchors_for(path):
        if path not in anchors:
            try:
                anchors[path] = anchors_of(path.read_text(encoding="utf-8"))
            except OSError:
                anchors[path] = set()
        return anchors[path]

    count = 0
    linked_from_readme = set()
    for rel, text in doc_texts.items():
        here = (ck.root / rel).parent
        for lineno, target in link_targets(text):
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target) or target.startswith("//"):
                continue  # absolute URL, mailto:
            count += 1
            path_part, _, anchor = target.partition("#")
            path_part = path_part.split("?", 1)[0]
            dest = (here / path_part).resolve() if path_part else (ck.root / rel).resolve()
            if path_part and not dest.exists():
                try:
                    shown = dest.relative_to(ck.root.resolve()).as_posix()
                except ValueError:
                    shown = str(dest)
                ck.fail(f"{rel}:{lineno}: link to {target}: {shown} does not exist")
                continue
            if rel == "README.md" and path_part:
                linked_from_readme.add(dest)
            if anchor:
                if dest.is_dir() or dest.suffix.lower() != ".md":
                    ck.fail(f"{rel}:{lineno}: link to {target}: #{anchor} in a file that is "
                            "not Markdown")
                elif anchor not in anchors_for(dest):
                    ck.fail(f"{rel}:{lineno}: link to {target}: no heading in "
                            f"{dest.relative_to(ck.root.resolve()).as_posix()} has the anchor "
                            f"#{anchor}")
    for rel in doc_texts:
        if rel.startswith("docs/") and (ck.root / rel).resolve() not in linked_from_readme:
            ck.fail(f"{rel} is not linked from README.md: add a line to its Documentation "
                    "section")
    return count


def main(argv):
    root = None
    if len(argv) == 3 and argv[1] == "--root":
        root = Path(argv[2])
    elif len(argv) != 1:
        print("usage: check_docs.py [--root DIR]", file=sys.stderr)
        return 2
    if root is None:
        root = Path(os.environ.get("ISB_DOCS_ROOT") or Path(__file__).resolve().parent.parent)
    ck = Checker(root)
    doc_texts = {}
    readme = ck.read("README.md")
    if readme is not None:
        doc_texts["README.md"] = readme
    docs = sorted((root / "docs").glob("*.md"))
    if not docs:
        ck.fail("docs/: no *.md files")
    for path in docs:
        rel = path.relative_to(root).as_posix()
        text = ck.read(rel)
        if text is not None:
            doc_texts[rel] = text

    n_directives = check_directives(ck, doc_texts)
    n_methods = check_lbmethods(ck, readme)
    n_ids = check_log_ids(ck)
    n_flags = check_status_flags(ck, readme)
    n_fields = check_manager_fields(ck)
    n_links = check_links(ck, doc_texts)

    if ck.problems:
        print(f"check_docs: {len(ck.problems)} problem(s) in {root}:", file=sys.stderr)
        for p in ck.problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"check_docs: ok: {n_directives} directives, {n_methods} lbmethods, {n_ids} log IDs, "
          f"{n_flags} status flags, {n_fields} manager fields and keys, {n_links} relative links in {len(doc_texts)} Markdown files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
