/* spin-controller: the SpinKube controller. main() owns the process-wide
 * state (libcurl's global init, signal handling); everything it calls takes
 * what it needs as arguments. */
#include <curl/curl.h>
#include <link.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "controller/options.h"
#include "controller/release.h"
#include "controller/run.h"
#include "spinkube-version.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t stats_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_requested = 1;
	else
		stop_requested = 1;
	controller_wakeup();
}

/* A system libcurl (Debian's) links librtmp, which links GnuTLS, and GnuTLS
 * initialises itself from a constructor in every process that loads it (its
 * ASN.1 tables and crypto backends: about 1 MiB resident) although we never
 * use it: our TLS is OpenSSL's. It skips that when GNUTLS_NO_IMPLICIT_INIT=1
 * is in the environment at start, so a start without it, with GnuTLS loaded,
 * sets it and executes itself again, once (REEXEC_MARK says so; both are
 * then taken out of the environment, so an exec credential plugin does not
 * inherit them). When the user set the variable, or its own path cannot be
 * executed, it runs on as it is. With the static HTTP-only libcurl of
 * hack/bootstrap --only curl GnuTLS is not loaded and nothing happens. */
#define REEXEC_MARK "SPIN_CONTROLLER_NO_GNUTLS_INIT"
static int gnutls_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	return info->dlpi_name && strstr(info->dlpi_name, "libgnutls") != NULL;
}

static void without_gnutls_init(char *argv[])
{
	if (!getenv(REEXEC_MARK) && !dl_iterate_phdr(gnutls_object, NULL))
		return;
	if (getenv(REEXEC_MARK)) {
		unsetenv(REEXEC_MARK);
		unsetenv("GNUTLS_NO_IMPLICIT_INIT");
		return;
	}
	if (getenv("GNUTLS_NO_IMPLICIT_INIT"))
		return;
	if (setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 1) < 0 || setenv(REEXEC_MARK, "1", 1) < 0)
		return;
	/* By its own path, not /proc/self/exe: the process's name (comm, what
	 * ps and pgrep show) comes from the path executed. */
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		execv(self, argv);
	}
	unsetenv(REEXEC_MARK);
	unsetenv("GNUTLS_NO_IMPLICIT_INIT");
}

int main(int argc, char *argv[])
{
	struct controller_options opts;
	enum controller_action action;
	struct sk_error err = { 0 };
	struct sigaction sa;
	int status;

	if (controller_options_parse(argc, (const char *const *)argv, &opts, &action, &err) < 0) {
		fprintf(stderr, "spin-controller: %s\n", err.message);
		return 2;
	}
	/* Fixed thresholds instead of glibc's adaptive ones: response bodies and
	 * parsed pages of 128 KiB or more get their own mappings and go back to
	 * the system when freed, instead of raising the heap's high-water mark,
	 * and one arena serves the process (curl's resolver threads included). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024);
	mallopt(M_ARENA_MAX, 1);
	switch (action) {
	case CONTROLLER_HELP:
		controller_usage(stdout);
		return 0;
	case CONTROLLER_VERSION:
		printf("spin-controller %s\n", SPINKUBE_VERSION);
		return 0;
	case CONTROLLER_RUN:
	case CONTROLLER_RELEASE_EXECUTORS:
		break;
	}
	without_gnutls_init(argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "spin-controller: libcurl failed to initialise\n");
		return 1;
	}
	if (action == CONTROLLER_RELEASE_EXECUTORS)
		status = controller_release_executors(&opts);
	else
		status = controller_run(&opts, &stop_requested, &stats_requested);
	curl_global_cleanup();
	return status;
}
