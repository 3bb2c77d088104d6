#!/usr/bin/env python3
"""Compile-fail test: checks that a program the library must reject does not
compile, and that the compiler's output names the fix.

    run.py SOURCE -- COMPILER [FLAGS...]

SOURCE holds one or more lines

    // expect-error: TEXT

and each TEXT must appear in the compiler's output (case-sensitive). The
test passes when compilation fails and every TEXT is found; it fails when the
program compiles (the library stopped rejecting it) or when the message does
not say what the expectation says (the user would not learn the fix).
"""
import subprocess
import sys


def main():
    if "--" not in sys.argv:
        sys.exit("usage: run.py SOURCE -- COMPILER [FLAGS...]")
    split = sys.argv.index("--")
    source = sys.argv[1]
    compiler = sys.argv[split + 1:]
    with open(source, encoding="utf-8") as f:
        expected = [line.split("expect-error:", 1)[1].strip()
                    for line in f if "expect-error:" in line]
    if not expected:
        sys.exit(f"{source}: no '// expect-error: TEXT' line")
    result = subprocess.run(compiler + ["-fsyntax-only", source],
                            capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode == 0:
        print(f"{source} compiled, but the library must reject it")
        return 1
    missing = [text for text in expected if text not in output]
    if missing:
        print(output)
        for text in missing:
            print(f"{source}: the compiler's output lacks: {text}")
        return 1
    print(f"{source}: rejected as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
