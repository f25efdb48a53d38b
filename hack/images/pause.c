/*
 * pause: the first process of a pod sandbox.
 *
 * It holds the pod's namespaces open and does nothing else: it waits for
 * signals without spinning, reaps every child that the kernel hands to it (as
 * PID 1 of the pod it inherits orphans), and exits 0 on SIGTERM or SIGINT so
 * that stopping a sandbox is a clean exit, not a kill. Every other signal the
 * kernel may deliver keeps its default action; as PID 1 in a PID namespace
 * the kernel ignores those that have no handler.
 *
 * Built static (hack/images/build) so that the image is this one file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* reap_children: collect every child that has exited; never blocks. */
static void reap_children(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0 && errno == EINTR)
			continue;
		return; /* 0: children remain, none exited; -1 ECHILD: no children */
	}
}

int main(int argc, char **argv)
{
	sigset_t set;

	if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
		puts("pause (spinkube-c)");
		return 0;
	}

	/* The signals we act on stay blocked and are taken with sigwaitinfo, so
	 * none is lost between two waits and no handler runs asynchronously. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		perror("pause: sigprocmask");
		return 1;
	}

	/* Children may have been inherited through exec and may have exited
	 * before SIGCHLD was blocked: that signal is gone, the zombies are not. */
	reap_children();

	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&set, &info);
		if (sig < 0) {
			if (errno == EINTR)
				continue; /* a stop/continue, or a signal outside the set */
			perror("pause: sigwaitinfo");
			return 1;
		}
		if (sig == SIGCHLD) {
			/* One SIGCHLD may stand for several exits: reap them all. */
			reap_children();
			continue;
		}
		return 0; /* SIGTERM or SIGINT */
	}
}
