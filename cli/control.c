/* control.c - `vmm run --control PATH`: a Unix socket through which `vmm
 * disk resize --control PATH FILE SIZE` asks the running VM to grow one of
 * its disks while the guest runs (the VM holds the image's lock, so only
 * it may). One request per connection, one line each way:
 *   resize SIZE FILE\n   ->   ok BYTES\n   |   error MESSAGE\n
 * (FILE is the rest of the line: it may hold spaces.)
 * FILE is matched against the --disk and --scsi images (by real path).
 * The socket is served by a thread of the command (not of the library),
 * stopped and joined before the VM is destroyed. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/control.h"
#include "cli/linux.h"

static struct {
	vmm_vm *vm;
	const cli_run_opts *o;
	int fd;
	pthread_t thread;
	bool started;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} ctl = { .fd = -1 };

/* Whether the image ARG (FILE or FILE,ro) is the file at real path want. */
static bool same_image(const char *arg, const char *want)
{
	char path[PATH_MAX], real[PATH_MAX];
	size_t n = strlen(arg);

	if (n >= sizeof(path))
		return false;
	memcpy(path, arg, n + 1);
	if (n > 3 && !strcmp(path + n - 3, ",ro"))
		path[n - 3] = 0;
	return realpath(path, real) && !strcmp(real, want);
}

static void resize(const char *file, const char *size_s, char *out, size_t outlen)
{
	char real[PATH_MAX], err[200];
	uint64_t size;
	int rc = -1;

	if (cli_parse_size(size_s, &size, err, sizeof(err)) < 0) {
		snprintf(out, outlen, "error %s\n", err);
		return;
	}
	if (!realpath(file, real)) {
		snprintf(out, outlen, "error %.200s: %s\n", file, strerror(errno));
		return;
	}
	for (uint32_t i = 0; rc == -1 && i < ctl.o->ndisks; i++)
		if (same_image(ctl.o->disks[i], real))
			rc = vmm_virtio_blk_resize(ctl.vm, i, size) ? 1 : 0;
	for (uint32_t i = 0; rc == -1 && i < ctl.o->nscsi; i++)
		if (same_image(ctl.o->scsi[i], real))
			rc = vmm_storage_resize(cli_linux_scsi_dev(i), size) ? 1 : 0;
	if (rc == -1)
		snprintf(out, outlen, "error %.200s is not a disk of this VM\n", file);
	else if (rc)
		snprintf(out, outlen, "error %.300s\n", vmm_last_error());
	else
		snprintf(out, outlen, "ok %llu\n", (unsigned long long)size);
}

static void serve(int c)
{
	char line[PATH_MAX + 64], out[512], *file;
	ssize_t n = 0, got;

	while (n < (ssize_t)sizeof(line) - 1 && (got = read(c, line + n, sizeof(line) - 1 - n)) > 0) {
		n += got;
		if (memchr(line, '\n', (size_t)n))
			break;
	}
	line[n > 0 ? n : 0] = 0;
	line[strcspn(line, "\n")] = 0;
	if (!strncmp(line, "resize ", 7) && (file = strchr(line + 7, ' ')) && file[1]) {
		*file++ = 0;
		resize(file, line + 7, out, sizeof(out));
	} else {
		snprintf(out, sizeof(out), "error expected: resize SIZE FILE\n");
	}
	if (write(c, out, strlen(out)) < 0) {
		/* the client went away: nothing to tell it */
	}
}

static void *control_main(void *arg)
{
	for (;;) {
		int c = accept4(ctl.fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			return NULL;            /* shut down by cli_control_stop */
		serve(c);
		close(c);
	}
}

int cli_control_start(vmm_vm *vm, const cli_run_opts *o, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (strlen(o->control) >= sizeof(a.sun_path))
		return snprintf(err, errlen, "--control %.64s: path too long", o->control), -1;
	strcpy(a.sun_path, o->control);
	ctl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(o->control);
	if (ctl.fd < 0 || bind(ctl.fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ctl.fd, 4) < 0)
		return snprintf(err, errlen, "--control %.200s: %s", o->control, strerror(errno)), -1;
	snprintf(ctl.path, sizeof(ctl.path), "%s", o->control);
	ctl.vm = vm;
	ctl.o = o;
	if (pthread_create(&ctl.thread, NULL, control_main, NULL) != 0)
		return snprintf(err, errlen, "--control: cannot start a thread"), -1;
	ctl.started = true;
	return 0;
}

void cli_control_stop(void)
{
	if (ctl.fd < 0)
		return;
	shutdown(ctl.fd, SHUT_RDWR);   /* accept() returns */
	if (ctl.started)
		pthread_join(ctl.thread, NULL);
	close(ctl.fd);
	ctl.fd = -1;
	ctl.started = false;
	unlink(ctl.path);
}

int cli_control_resize(const char *sock, const char *file, const char *size, char *reply,
		       size_t replylen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char real[PATH_MAX], req[PATH_MAX + 64];
	ssize_t n = 0, got;
	int c;

	if (strlen(sock) >= sizeof(a.sun_path))
		return snprintf(reply, replylen, "error --control %.64s: path too long", sock), -1;
	strcpy(a.sun_path, sock);
	if (!realpath(file, real))
		return snprintf(reply, replylen, "error %.200s: %s", file, strerror(errno)), -1;
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
		snprintf(reply, replylen, "error --control %.200s: %s", sock, strerror(errno));
		if (c >= 0)
			close(c);
		return -1;
	}
	snprintf(req, sizeof(req), "resize %s %s\n", size, real);
	if (write(c, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(c);
		return snprintf(reply, replylen, "error --control: write: %s", strerror(errno)), -1;
	}
	while (n < (ssize_t)replylen - 1 && (got = read(c, reply + n, replylen - 1 - (size_t)n)) > 0)
		n += got;
	close(c);
	reply[n > 0 ? n : 0] = 0;
	reply[strcspn(reply, "\n")] = 0;
	return strncmp(reply, "ok ", 3) ? -1 : 0;
}
