"""Write the hostile notebooks that tests/test_attacks.py grades, next to this file.

Each notebook is a student's copy whose `compute_cost_with_regularization` attacks the
grader instead of computing the cost (the backward exercise is left out, so each notebook
runs one hostile function). Attacks that could pay off return the right cost when they
succeed, so a breach shows up as full marks, not as a quiet pass of the test. Paths the
attacks need are found the way a student would find them: from the `grader` module already
imported in the process, from `sys.argv`, from /proc. The test passes a TCP port and the
output folder in the output folder's name (`--out .../out-tcp-PORT`).
Run ``python tests/attacks/build.py``.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
IMPORTS = "import numpy as np\nfrom reg_utils import compute_cost"
SIGNATURE = "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n"
HONEST_COST = """\
    m = Y.shape[1]
    W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]
    return compute_cost(A3, Y) + lambd / (2 * m) * (np.sum(W1 ** 2) + np.sum(W2 ** 2) + np.sum(W3 ** 2))
"""
# Where the grader's files are, from the grader module the process already imported.
FIND_PROJECT = """\
    import os, sys
    package = os.path.dirname(sys.modules["grader"].__file__)
    candidates = [os.path.join(package, "reference"), os.path.join(os.path.dirname(package), "reference")]
    reference = next(path for path in candidates if os.path.isdir(path))
"""
CANARY = "ATTACK_WROTE_HERE"

ATTACKS: dict[str, str] = {
    # ---- reading the reference solution ----
    "read_reference_by_path": FIND_PROJECT + """\
    with open(os.path.join(reference, "regularization", "solution.py")) as file:  # the attack
        file.read()
""" + HONEST_COST,
    "read_reference_by_import": """\
    import importlib
    solution = importlib.import_module("grader.reference.regularization.solution")  # the attack
    return solution.compute_cost_with_regularization(A3, Y, parameters, lambd)
""",
    "read_reference_from_memory": """\
    import gc, sys
    loaded = [name for name in sys.modules if name.startswith("_grader_assignment_")]
    functions = [obj for obj in gc.get_objects() if getattr(obj, "__name__", "") == "compute_cost_with_regularization"
                 and getattr(obj, "__module__", "submission") != "submission"]
    if not loaded and not functions:
        raise LookupError("no reference code in this process")  # the attack
    return functions[0](A3, Y, parameters, lambd)
""",
    "read_reference_through_proc": """\
    import os
    worker = os.getppid()
    with open(f"/proc/{worker}/cwd/reference/regularization/solution.py") as file:  # the attack
        file.read()
""" + HONEST_COST,
    "read_grader_memory": """\
    import os
    with open(f"/proc/{os.getppid()}/status") as status:  # the attack
        grader = int(next(line.split()[1] for line in status if line.startswith("PPid:")))
    with open(f"/proc/{grader}/mem", "rb") as memory:
        memory.read(1)
""" + HONEST_COST,
    "read_other_submissions": """\
    import sys
    others = [argument for argument in sys.argv if argument.endswith(".ipynb")]
    with open(others[0]) as file:  # the attack
        file.read()
""" + HONEST_COST,
    # ---- writing outside the scratch directory ----
    "write_outside_scratch": FIND_PROJECT + """\
    import re
    out = next(argument for argument in sys.argv if re.search(r"out-tcp-[0-9]+$", argument))
    targets = [os.path.join(out, "{canary}"), os.path.join(os.path.dirname(out), "{canary}"),
               os.path.join(os.path.dirname(reference), "{canary}"), "/tmp/{canary}",
               os.path.join(reference, "regularization", "solution.py")]
    errors = []
    for target in targets:
        try:
            with open(target, "a") as file:
                file.write("pwned")
        except OSError as error:
            errors.append(error)
    raise errors[0]  # the attack
""".replace("{canary}", CANARY),
    # ---- the network ----
    "connect_to_localhost": """\
    import re, socket, sys
    port = int(re.search(r"out-tcp-([0-9]+)", " ".join(sys.argv)).group(1))
    connection = socket.create_connection(("127.0.0.1", port), timeout=2)  # the attack
    connection.sendall(b"stolen")
""" + HONEST_COST,
    # ---- signals ----
    "kill_the_grader": """\
    import os, signal
    errors = []
    for attempt in (lambda: os.kill(os.getppid(), signal.SIGKILL), lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL),
                    lambda: os.kill(-1, signal.SIGKILL), lambda: os.kill(1, signal.SIGTERM)):
        try:
            attempt()
        except OSError as error:
            errors.append(error)
    raise errors[0]  # the attack
""",
    # ---- resources ----
    "fork_bomb": """\
    import os
    while True:
        os.fork()  # the attack
""",
    "thread_bomb": """\
    import threading, time
    while True:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # the attack
""",
    "allocate_far_too_much": """\
    hoard = np.ones((1 << 37,))  # the attack
""" + HONEST_COST,
    "infinite_loop": """\
    while True:  # the attack
        pass
""",
    "sleep_forever": """\
    import time
    time.sleep(10_000)  # the attack
""",
    "print_hundreds_of_megabytes": """\
    line = "x" * (1 << 20)
    for _ in range(300):
        print(line)  # the attack
""" + HONEST_COST,
    "fill_the_disk": """\
    import os
    first = len(os.listdir("."))  # new files on every call: each call fills what is left, once
    for index in range(first, first + 10_000):
        with open(f"junk{index}", "wb") as file:  # the attack
            file.write(bytes(1 << 20))
""" + HONEST_COST,
    "recursion_bomb": """\
    import sys
    sys.setrecursionlimit(10 ** 9)

    def deeper(n):
        return deeper(n + 1) + 1  # the attack
    return deeper(0)
""",
    # ---- the result channel ----
    "close_the_result_channel": """\
    import os
    for fd in range(3, 64):  # the attack
        try:
            os.close(fd)
        except OSError:
            pass
""" + HONEST_COST,
    "forge_a_result": """\
    import os
    forged = b'{"call":{"returned":1.0,"arguments_after":{"tuple":[]},"error":null}}'
    for fd in range(3, 64):  # the attack
        try:
            os.write(fd, len(forged).to_bytes(8, "big") + forged)
        except OSError:
            pass
    return 0.0
""",
    # ---- values that lie ----
    "equal_to_everything": """\
    class Liar(float):
        def __eq__(self, other):
            return True
        __hash__ = float.__hash__
    return Liar(0.0)  # the attack
""",
    "array_protocol_liar": """\
    class Liar:
        def __array__(self, dtype=None, copy=None):
            raise SystemExit("array conversion hijacked")
        def __float__(self):
            return 0.0
    return Liar()  # the attack
""",
    "ndarray_subclass": """\
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), dtype=bool)
        def __sub__(self, other):
            return np.zeros(np.shape(other))
        __rsub__ = __sub__
    return np.zeros((1, 1)).view(Sneaky)  # the attack
""",
    "huge_array": """\
    return np.zeros(20_000_000)  # the attack
""",
    # ---- tampering with the process ----
    "monkeypatch_numpy_and_builtins": """\
    import builtins, os
    np.sum = lambda *arguments, **keywords: 0.0
    np.allclose = lambda *arguments, **keywords: True
    builtins.isinstance = lambda *arguments: True
    builtins.len = lambda value: 0
    os._exit = lambda status: None  # the attack
    return 0.0
""",
    "os_exit": """\
    import os
    os._exit(0)  # the attack
""",
    "sys_exit": """\
    import sys
    sys.exit(0)  # the attack
""",
    "raise_keyboard_interrupt": """\
    raise KeyboardInterrupt  # the attack
""",
    "raise_system_exit": """\
    raise SystemExit("graded")  # the attack
""",
    # ---- functions that are not functions ----
    "generator_function": """\
    yield 0.0  # the attack
""",
}
# A coroutine needs `async def`, so it replaces the signature.
ASYNC_ATTACKS = {
    "coroutine_function": "async " + SIGNATURE + "    return 0.0  # the attack\n",
}


def notebook(function_source: str) -> nbformat.NotebookNode:
    """A student's notebook: imports, the graded function, and a test cell never run."""
    cells = [
        new_markdown_cell("# Regularization"),
        new_code_cell(IMPORTS),
        new_code_cell("# GRADED FUNCTION: compute_cost_with_regularization\n\n" + function_source),
        new_code_cell("print(compute_cost_with_regularization(A3, Y, parameters, 0.1))"),
    ]
    for index, cell in enumerate(cells):
        cell.id = f"cell-{index}"  # stable ids: rebuilding changes nothing
    return new_notebook(cells=cells)


def main() -> None:
    sources = {name: SIGNATURE + body for name, body in ATTACKS.items()} | ASYNC_ATTACKS
    for name, source in sources.items():
        nbformat.write(notebook(source), str(HERE / f"{name}.ipynb"))
    print(f"wrote {len(sources)} notebooks to {HERE}")


if __name__ == "__main__":
    main()
