"""``ember run --nproc-per-node N script.py ARGS``: start N processes of a script with mpiexec.

The options are torchrun's. Every process gets RANK, LOCAL_RANK, WORLD_SIZE,
LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR and MASTER_PORT, so ``init_process_group()``
reads them as under torchrun, and (unless set) OMP_NUM_THREADS, its share of the cores.
The processes of one machine share one MPI job; with ``--nnodes`` above 1, run the same
command on each machine with its ``--node-rank``, and the jobs connect at
MASTER_ADDR:MASTER_PORT.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys


def add_arguments(parser):
    g = parser.add_argument_group("several processes (torchrun's options)")
    g.add_argument(
        "--nproc-per-node",
        "--nproc_per_node",
        type=int,
        default=None,
        metavar="N",
        help="start N processes of the script on this machine",
    )
    g.add_argument("--nnodes", type=int, default=1, help="number of machines (default 1)")
    g.add_argument(
        "--node-rank",
        "--node_rank",
        type=int,
        default=0,
        help="this machine's index, 0 to nnodes - 1",
    )
    g.add_argument(
        "--master-addr",
        "--master_addr",
        default="127.0.0.1",
        help="address of the machine with node rank 0",
    )
    g.add_argument(
        "--master-port",
        "--master_port",
        type=int,
        default=29500,
        help="a free TCP port on that machine (default 29500)",
    )
    g.add_argument("--standalone", action="store_true", help="one machine, on a free local port")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error(message):
    print(f"ember run: error: {message}", file=sys.stderr)
    return 2


def launch(args):
    """Run ``args.script`` in ``args.nproc_per_node`` processes; the worst exit status."""
    from ember.multiprocessing.spawn import _mpiexec, threads_per_process

    n, nnodes, node_rank = args.nproc_per_node, args.nnodes, args.node_rank
    if args.standalone:
        nnodes, node_rank, addr, port = 1, 0, "127.0.0.1", _free_port()
    else:
        addr, port = args.master_addr, args.master_port
    if n < 1:
        return _error(f"--nproc-per-node must be at least 1, got {n}")
    if nnodes < 1 or not 0 <= node_rank < nnodes:
        return _error(f"--node-rank must be 0 to {nnodes - 1} (--nnodes {nnodes}), got {node_rank}")
    env = {
        **os.environ,
        "MASTER_ADDR": addr,
        "MASTER_PORT": str(port),
        "WORLD_SIZE": str(n * nnodes),
        "LOCAL_WORLD_SIZE": str(n),
        "GROUP_RANK": str(node_rank),
        **threads_per_process(n),
    }
    cmd = [_mpiexec(), "-n", str(n), sys.executable, "-m", "ember.cli.launch", args.script]
    proc = subprocess.Popen([*cmd, *args.args], env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()


def _worker(argv):
    """One launched process: its ranks from mpiexec's, then the script as ``ember run`` runs it."""
    local = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
    per_node = int(os.environ["LOCAL_WORLD_SIZE"])
    os.environ["LOCAL_RANK"] = str(local)
    os.environ["RANK"] = str(int(os.environ["GROUP_RANK"]) * per_node + local)
    from ember.cli import run

    return run.run(argparse.Namespace(script=argv[0], args=argv[1:]))


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
