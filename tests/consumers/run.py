#!/usr/bin/env python3
"""Builds a scratch project against tricolor by each documented path and
runs it (README, "Use it in your project"):

    install     meson setup --prefix + ninja install of this source tree,
                with -Dwerror=true (the library builds warning-free), and
                a check that only tricolor/*.hpp and tricolor/internal/*.hpp
                were installed as headers
    pkg_config  a meson project: dependency('tricolor') found by pkg-config
                in that prefix
    gxx_pkg_config  g++ -Wall -Wextra -Werror $(pkg-config --cflags --libs tricolor)
    clang_pkg_config  the same with clang++ (the headers are not GCC-only)
    cmake       a CMake project: find_package(tricolor) + tricolor::tricolor
    subproject  a meson project with this tree in subprojects/tricolor:
                dependency('tricolor', fallback : ['tricolor', 'tricolor_dep'])

    run.py SOURCE_ROOT WORK_DIR

Each path prints a GoogleTest-style "[       OK ] consumers.NAME" or
"[  FAILED  ] consumers.NAME (0 ms)" line, so .ci/count_tests.py counts it.
The scratch program (app.cc) allocates from four threads, collects, checks
every list, and includes headers of its own named gc/config.hpp and
heap/heap.hpp, which must not collide with the library's.
"""
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))


def run(args, cwd=None, env=None):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"$ {' '.join(args)}\n{result.stdout}{result.stderr}")
    return result.stdout


def scratch(work, name):
    """A fresh project directory holding app.cc, include/ and NAME's build file."""
    project = os.path.join(work, name)
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(os.path.join(here, name), project)
    shutil.copy(os.path.join(here, "app.cc"), project)
    shutil.copytree(os.path.join(here, "include"), os.path.join(project, "include"))
    return project


def check_app(binary, env=None):
    out = run([binary], env=env)
    if not out.startswith("ok:"):
        raise RuntimeError(f"{binary} printed: {out}")


def main():
    source, work = map(os.path.abspath, sys.argv[1:3])
    os.makedirs(work, exist_ok=True)
    prefix = os.path.join(work, "prefix")
    libdir = "lib"
    env = dict(os.environ)
    env.pop("PKG_CONFIG_PATH", None)
    installed_env = dict(env, PKG_CONFIG_PATH=os.path.join(prefix, libdir, "pkgconfig"),
                         LD_LIBRARY_PATH=os.path.join(prefix, libdir))
    results = []

    def step(name, body):
        try:
            body()
            print(f"[       OK ] consumers.{name} (0 ms)", flush=True)
            results.append(True)
        except Exception as error:  # noqa: BLE001 - any failure fails the step
            print(error)
            print(f"[  FAILED  ] consumers.{name} (0 ms)", flush=True)
            results.append(False)

    def install():
        build = os.path.join(work, "tricolor-build")
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(prefix, ignore_errors=True)
        run(["meson", "setup", build, source, "--prefix", prefix, "--libdir", libdir,
             "-Dtests=false", "-Dbenchmarks=false", "-Dwerror=true"], env=env)
        run(["ninja", "-C", build], env=env)
        run(["meson", "install", "-C", build, "--quiet"], env=env)
        headers = []
        for root, _, names in os.walk(os.path.join(prefix, "include")):
            headers += [os.path.relpath(os.path.join(root, n), os.path.join(prefix, "include"))
                        for n in names]
        stray = [h for h in headers if not (h.startswith("tricolor/") and
                 os.path.dirname(h) in ("tricolor", "tricolor/internal"))]
        if stray or "tricolor/tricolor.hpp" not in headers:
            raise RuntimeError(f"installed headers: {sorted(headers)}")

    def pkg_config():
        project = scratch(work, "meson_pkgconfig")
        run(["meson", "setup", "build", "-Dcpp_std=c++20"], cwd=project, env=installed_env)
        run(["ninja", "-C", "build"], cwd=project, env=installed_env)
        check_app(os.path.join(project, "build", "app"), env=installed_env)

    def compiler_pkg_config(compiler):
        """COMPILER app.cc $(pkg-config --cflags --libs tricolor), warnings as errors."""
        def build_and_run():
            flags = run(["pkg-config", "--cflags", "--libs", "tricolor"], env=installed_env).split()
            binary = os.path.join(work, "app-" + compiler)
            run([compiler, "-std=c++20", "-O2", "-Wall", "-Wextra", "-Werror",
                 "-I", os.path.join(here, "include"),
                 os.path.join(here, "app.cc"), "-o", binary] + flags, env=installed_env)
            check_app(binary, env=installed_env)
        return build_and_run

    def cmake():
        project = scratch(work, "cmake")
        run(["cmake", "-S", project, "-B", os.path.join(project, "build"),
             f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"], env=env)
        run(["cmake", "--build", os.path.join(project, "build")], env=env)
        check_app(os.path.join(project, "build", "app"), env=installed_env)

    def subproject():
        project = scratch(work, "meson_subproject")
        os.makedirs(os.path.join(project, "subprojects"))
        os.symlink(source, os.path.join(project, "subprojects", "tricolor"))
        run(["meson", "setup", "build"], cwd=project, env=env)
        run(["ninja", "-C", "build"], cwd=project, env=env)
        check_app(os.path.join(project, "build", "app"), env=env)

    step("install", install)
    if results[-1]:
        step("pkg_config", pkg_config)
        step("gxx_pkg_config", compiler_pkg_config("g++"))
        step("clang_pkg_config", compiler_pkg_config("clang++"))
        step("cmake", cmake)
    step("subproject", subproject)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
