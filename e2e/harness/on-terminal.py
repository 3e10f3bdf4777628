# (Not named pty.py: it would shadow the standard library's pty module.)
# Runs a command on a fresh pseudo-terminal of a given size, for tests of terminal handling (`exec -t`):
# our stdin is copied to the terminal, the terminal's output to our stdout; SIGUSR1 resizes the terminal
# to $PTY_RESIZE ("ROWSxCOLS"), which sends the command SIGWINCH. Exits with the command's exit code.
# Usage: python3 on-terminal.py ROWSxCOLS COMMAND [ARGS...]
import fcntl, os, pty, select, signal, struct, sys, termios

def winsize(spec):
    rows, cols = (int(n) for n in spec.split('x'))
    return struct.pack('HHHH', rows, cols, 0, 0)

pid, master = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, winsize(sys.argv[1]))
    os.execvp(sys.argv[2], sys.argv[2:])

signal.signal(signal.SIGUSR1, lambda *_: fcntl.ioctl(master, termios.TIOCSWINSZ, winsize(os.environ['PTY_RESIZE'])))
stdin_open = True
while True:
    fds = [master] + ([0] if stdin_open else [])
    try:
        ready, _, _ = select.select(fds, [], [])
    except InterruptedError:
        continue
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 65536)
        if data:
            os.write(master, data)
        else:
            stdin_open = False
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)
