// The CLI side of progress reports: a one-line bar on stderr when it is a
// terminal, plain periodic lines otherwise (CI logs), and Ctrl-C turned into
// a polite stop request that the library sees through the callback's return.
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t interrupted;
static struct timespec first_interrupt; // written by the handler before `interrupted`

// The first SIGINT asks for a clean stop (finish the step, save); a second one ends the
// program at once, unless it follows the first within half a second: that is the same
// interrupt delivered twice, as timeout(1) does (to the program, then to its process
// group), and dying on it would lose the checkpoint the first one asked for.
static void on_sigint(int sig) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!interrupted) {
        first_interrupt = now;
        interrupted = 1;
        return;
    }
    double dt = (double)(now.tv_sec - first_interrupt.tv_sec) +
                1e-9 * (double)(now.tv_nsec - first_interrupt.tv_nsec);
    if (dt < 0.5) return;
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_sigint_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
}

bool cli_interrupted(void) { return interrupted != 0; }

void cli_progress_begin(cli_progress *pr, const char *label) {
    memset(pr, 0, sizeof *pr);
    pr->label = label ? label : "";
    pr->tty = isatty(STDERR_FILENO);
    pr->last_draw = -1;
}

// "1:05:09" or "5:09".
static void format_duration(char *out, size_t cap, double seconds) {
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(out, cap, "?");
        return;
    }
    long s = lround(seconds);
    if (s >= 3600)
        snprintf(out, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, cap, "%ld:%02ld", s / 60, s % 60);
}

static int terminal_columns(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

// The figures after the bar: "step/total pct rate ETA loss", shared by both styles.
static void describe(char *out, size_t cap, const lc_progress *p, int bar_width) {
    size_t o = 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (o < cap) o += (size_t)snprintf(out + o, cap - o, __VA_ARGS__);                         \
    } while (0)
    bool known = p->total > 0;
    double frac = known ? (double)p->step / (double)p->total : 0;
    if (frac > 1) frac = 1;
    if (p->epoch >= 0) ADD("epoch %lld ", (long long)p->epoch);
    if (bar_width > 0 && known) {
        int fill = (int)(frac * bar_width);
        ADD("[");
        for (int i = 0; i < bar_width; i++)
            ADD("%c", i < fill ? '=' : i == fill ? '>' : ' ');
        ADD("] ");
    }
    if (known)
        ADD("%lld/%lld %3.0f%%", (long long)p->step, (long long)p->total, 100 * frac);
    else
        ADD("step %lld", (long long)p->step);
    if (p->rate >= 100)
        ADD("  %.0f/s", p->rate);
    else if (p->rate > 0)
        ADD("  %.3g/s", p->rate);
    char t[32];
    if (known && p->step > 0 && p->elapsed > 0) {
        format_duration(t, sizeof t, p->elapsed / (double)p->step * (double)(p->total - p->step));
        ADD("  eta %s", t);
    } else {
        format_duration(t, sizeof t, p->elapsed);
        ADD("  %s", t);
    }
    if (isfinite(p->loss)) ADD("  loss %.5g", p->loss);
#undef ADD
}

int cli_progress_report(void *user, const lc_progress *p) {
    cli_progress *pr = user;
    if (interrupted) {
        if (!pr->told_stop) {
            cli_progress_clear(pr);
            fprintf(stderr, "latentcl: interrupted; stopping after this step (Ctrl-C again to "
                            "quit at once)\n");
            pr->told_stop = true;
        }
        return 1;
    }
    bool last = p->total > 0 && p->step >= p->total;
    char text[512];
    const char *phase = p->phase && *p->phase ? p->phase : pr->label;
    if (pr->tty) {
        // Redraw at most 10 times a second.
        if (!last && pr->last_draw >= 0 && p->elapsed - pr->last_draw < 0.1) return 0;
        // The bar takes what the figures leave of the terminal's width.
        describe(text, sizeof text, p, 0);
        int cols = terminal_columns();
        int bar = cols - 1 - (int)strlen(phase) - 2 - (int)strlen(text) - 3;
        if (bar > 30) bar = 30;
        describe(text, sizeof text, p, bar >= 10 ? bar : 0);
        fprintf(stderr, "\r%s%s%.*s\x1b[K", phase, *phase ? ": " : "",
                cols - 2 - (int)strlen(phase) > 0 ? cols - 2 - (int)strlen(phase) : 0, text);
        pr->drawn = true;
        pr->last_draw = p->elapsed;
        if (last) cli_progress_end(pr);
        fflush(stderr);
        return 0;
    }
    // Plain lines: every 5% of the total or every 10 seconds, and the last step.
    double frac = p->total > 0 ? (double)p->step / (double)p->total : 0;
    bool due = pr->last_draw < 0 || p->elapsed - pr->last_draw >= 10 ||
               (p->total > 0 && frac - pr->last_frac >= 0.05) || (last && !pr->printed_last);
    if (!due) return 0;
    describe(text, sizeof text, p, 0);
    fprintf(stderr, "%s%s%s\n", phase, *phase ? ": " : "", text);
    fflush(stderr);
    pr->last_draw = p->elapsed;
    pr->last_frac = frac;
    pr->printed_last = last;
    return 0;
}

void cli_progress_clear(cli_progress *pr) {
    if (pr->tty && pr->drawn) {
        fputs("\r\x1b[K", stderr);
        fflush(stderr);
        pr->drawn = false;
        pr->last_draw = -1; // draw again at the next report
    }
}

void cli_progress_end(cli_progress *pr) {
    if (pr->tty && pr->drawn) {
        fputc('\n', stderr);
        fflush(stderr);
        pr->drawn = false;
    }
}
