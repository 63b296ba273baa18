/*
 * forms_thr.c - a DT_NEEDED library whose constructor starts a thread.
 * Linked before libfntrace.so, glibc runs its constructor first, so when
 * the runtime registers the main executable a second thread exists: five
 * 1-byte NOPs can no longer be rewritten safely and must be refused.
 */
#include <pthread.h>
#include <unistd.h>

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

__attribute__((constructor)) static void start_thread(void)
{
	pthread_t t;

	if (!pthread_create(&t, NULL, idle, NULL))
		pthread_detach(t);
}
