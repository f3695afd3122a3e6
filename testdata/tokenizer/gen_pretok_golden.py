#!/usr/bin/env python3
"""Generates pretok_golden.jsonl: how llama.cpp's pre-tokenizer regexes split
text, computed independently of the Go scanners with the Python `regex`
module (pip install regex), which has the same backtracking, first-alternative
semantics as the std::regex llama.cpp uses and the same \\s (Unicode
White_Space).

Each pre-tokenizer is llama.cpp's list of regexes (src/llama-vocab.cpp),
applied in turn as unicode_regex_split does: every regex splits each piece
left by the previous one into its matches and the gaps between them.

Run from the repository root: python3 testdata/tokenizer/gen_pretok_golden.py
The output is deterministic (fixed seed). Inputs avoid codepoints assigned
after Unicode 14 so that Go's tables (15.0) and Python's agree.
"""
import json
import random
import regex

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
LLAMA3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
         r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# deepseek-coder's CJK regex has no \p{..}: llama.cpp matches it with
# std::wregex on the codepoints after replacing non-ASCII whitespace by U+000B.
CJK = "[一-龥ࠀ-一가-퟿]+"

PRE = {
    "gpt-2": [GPT2],
    "starcoder": [r"\p{N}", GPT2],
    "qwen2": [QWEN2],
    "llama-bpe": [LLAMA3],
    "deepseek-coder": [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", CJK, r"\p{N}"],
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"],
}


def wide(s):
    return "".join("\x0b" if ord(c) > 0x7F and regex.match(r"\s", c) else c for c in s)


def split(text, exprs):
    pieces = [text]
    for expr in exprs:
        rx = regex.compile(expr)
        out = []
        for p in pieces:
            subject = wide(p) if expr == CJK else p
            gap = 0
            for m in rx.finditer(subject):
                if m.start() > gap:
                    out.append(p[gap:m.start()])
                out.append(p[m.start():m.end()])
                gap = m.end()
            if gap < len(p):
                out.append(p[gap:])
        pieces = out
    return pieces


CURATED = [
    "", " ", "  ", "\t", "\n", "\n\n", "\t\n", " \n", "\n ", "  \n  x", "a  \tb", "x \t\ty",
    "Hello world", " Hello World!", "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
    "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
    "'s't're've'm'll'd 'S'T'RE'VE'M'LL'D 'x '", "don't", "3", "33", "333", "3333", "1234567", "3.3 3..3 3...3",
    "٣٤٥ ²³ Ⅻ ½ x²", "func main() {\n\tfmt.Println(\"hello, 世界\")\n}\n", "if (a<=b && c!=d) { x += 1; }",
    "const xs = [1, 22, 333, 4444];\r\n\r\n  let   s = xs.map((x) => x * 2); // ok\t\r\n",
    "e\u0301 cafe\u0301 \u0301x", "a\u00a0b \u3000c\u2028d\u0085e", "\x00\x1c\x1f\x7f", "$+<=>^~|`",
    "нещо на Български", "កាន់តែពិសេសអាចខលចេញ", "🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅",
    "Cửa Việt", "    Hello\n    Hello", "!!!!!!", "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n",
    "가나다 라마 ㄱㄴ", "一二三 四", "\r\n\r\r\n", " ,", " .x", "x' y", "'", "''''''```````\"\"\"\"......!!!!!!??????",
]

ALPHABET = (list("aZ09 '\t\n\r\v\f.,;:!?()[]{}<>=+-*/\\\"$^~|`_@#%&sStTrReEvVmMlLdD") +
            ["é", "ß", "Ж", "λ", "ק", "ب", "中", "文", "가", "ㄱ", "ア", "ー", "\u0301", "\u0903", "٣", "²", "Ⅻ", "½",
             "\u00a0", "\u3000", "\u2028", "\u0085", "\u1680", "\u200b", "\u200d", "\x00", "\x1c", "\x7f",
             "😁", "🦙", "€", "©", "°", "•", "…", "“", "”", "«", "»", "～", "。", "、", "\ufffd"])


def main():
    rng = random.Random(20261129)
    texts = list(CURATED)
    for _ in range(400):
        n = rng.randint(1, 24)
        texts.append("".join(rng.choice(ALPHABET) for _ in range(n)))
    cases = []
    for name, exprs in PRE.items():
        for t in texts:
            cases.append({"pre": name, "text": t, "words": split(t, exprs)})
    # One case per line keeps diffs readable.
    with open("testdata/tokenizer/pretok_golden.jsonl", "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
