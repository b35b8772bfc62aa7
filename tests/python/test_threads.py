"""pyasm releases the GIL while it works, so threads assemble and disassemble in parallel."""

import errno
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pyasm
from support import MODULE, for_host


def program(k):
    return for_host(MODULE).replace("LOAD_CONST 7", "LOAD_CONST %d" % k)


def round_trip(k):
    pyc = pyasm.assemble(program(k), filename="p%d.pyasm" % k)
    return pyc, pyasm.disassemble(pyc)


def test_threads_get_the_same_results_as_one_thread():
    ks = list(range(48))
    alone = [round_trip(k) for k in ks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(round_trip, ks))
    assert together == alone
    assert len({pyc for pyc, _ in alone}) == len(ks)


def test_another_thread_runs_python_while_pyasm_works(tmp_path):
    # One thread assembles a file that includes a FIFO: pyasm blocks opening it until a
    # writer comes. This thread is that writer, and writing takes Python code, which runs only
    # if pyasm released the GIL. Were it held, both would wait for ever; so a separate process
    # that needs no GIL feeds the FIFO after a minute, and the test fails on what it wrote.
    fifo = tmp_path / "part.pyasm"
    os.mkfifo(fifo)
    main = tmp_path / "main.pyasm"
    main.write_text('.include "part.pyasm"\n')
    rescue = subprocess.Popen(
        [sys.executable, "-c", "import time, sys; time.sleep(60); open(sys.argv[1], 'w').write('NOT ASSEMBLY')", str(fifo)]
    )
    results = []

    def assemble():
        try:
            results.append(pyasm.assemble_files([main]))
        except pyasm.AssemblyError as e:
            results.append(e)

    try:
        worker = threading.Thread(target=assemble)
        worker.start()
        deadline = time.monotonic() + 120
        while True:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # fails until there is a reader
                break
            except OSError as e:
                assert e.errno == errno.ENXIO and time.monotonic() < deadline, e
                time.sleep(0.01)
        with os.fdopen(fd, "w") as f:
            f.write(program(7))
        worker.join()
    finally:
        rescue.kill()
        rescue.wait()
    (result,) = results
    assert isinstance(result, bytes), result
