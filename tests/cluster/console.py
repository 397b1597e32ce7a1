#!/usr/bin/env python3
# console.py: a person at a machine's console, for the cluster tests.
#
#	console.py SCREEN PROMPT GATE TYPED -- CMD [ARG...]
#
# Runs CMD with a new pseudo-terminal as its controlling terminal (so that
# /dev/tty is that terminal; stdin is /dev/null, stdout and stderr are
# ours), and copies everything CMD writes to the terminal into the file
# SCREEN. Once PROMPT has appeared on the screen and the file GATE exists
# (the test creates it when the person should type), it types the first
# line of the file TYPED and Enter. Exits with CMD's status; 124 (CMD
# killed) when PROMPT or GATE does not come within 120 s; on SIGTERM it
# stops CMD first. The typed text is never printed.
import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time

LIMIT = 120


# usage: the command line is wrong.
def usage():
	sys.stderr.write("usage: console.py SCREEN PROMPT GATE TYPED -- CMD...\n")
	sys.exit(2)


# main: runs the session; returns the exit status.
def main(argv):
	if len(argv) < 7 or argv[5] != "--":
		usage()
	screen_path, prompt, gate, typed_path = argv[1:5]
	cmd = argv[6:]
	with open(typed_path, "rb") as f:
		typed = f.readline().rstrip(b"\n") + b"\n"
	master, slave = os.openpty()

	# child_setup: a new session whose controlling terminal is the pty.
	def child_setup():
		os.setsid()
		fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

	child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
	    preexec_fn=child_setup, pass_fds=(slave,))
	os.close(slave)

	# stop: SIGTERM to us stops the child first.
	def stop(signum, frame):
		child.kill()
		child.wait()
		sys.exit(128 + signum)
	signal.signal(signal.SIGTERM, stop)

	screen = open(screen_path, "wb")
	seen = b""
	done = False
	deadline = time.monotonic() + LIMIT
	while True:
		r, _, _ = select.select([master], [], [], 0.1)
		if r:
			try:
				data = os.read(master, 4096)
			except OSError:
				data = b""	# EIO: the child closed it
			if not data:
				break
			screen.write(data)
			screen.flush()
			seen += data
		if child.poll() is not None and not r:
			break
		if not done and prompt.encode() in seen and \
		    os.path.exists(gate):
			os.write(master, typed)
			done = True
		if not done and time.monotonic() > deadline:
			child.kill()
			child.wait()
			return 124
	screen.close()
	return child.wait()


if __name__ == "__main__":
	sys.exit(main(sys.argv))
