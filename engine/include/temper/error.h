/* SPDX-License-Identifier: MIT */
/* error.h — how the engine reports failure.
 *
 * Every engine function that can fail on bad input, a missing file or an
 * exhausted device takes a GError ** last and returns FALSE/NULL.  The
 * message is written for the person using the app: it names the file and the
 * problem and, where possible, what to do about it.  The engine never exits
 * or aborts on bad input. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TEMPER_ERROR (temper_error_quark ())

typedef enum {
  TEMPER_ERROR_FAILED,          /* anything not covered below */
  TEMPER_ERROR_IO,              /* a file could not be read or written */
  TEMPER_ERROR_INVALID_FILE,    /* a model, tokenizer or dataset file is malformed */
  TEMPER_ERROR_UNSUPPORTED,     /* valid, but not something Temper handles */
  TEMPER_ERROR_INVALID_ARGUMENT,/* a setting or argument is out of range */
  TEMPER_ERROR_NO_SPACE,        /* the disk is full */
  TEMPER_ERROR_OUT_OF_MEMORY,   /* host or device memory ran out */
  TEMPER_ERROR_DEVICE,          /* a GPU or its driver failed */
  TEMPER_ERROR_CANCELLED,       /* the caller cancelled the work */
  TEMPER_ERROR_NUMERIC,         /* training diverged: NaN or Inf */
  TEMPER_ERROR_IN_USE,          /* another process is writing to the same run */
} TemperErrorCode;

GQuark temper_error_quark (void);

/* Sets *error from errno after a failed system call.  @format is a whole
 * translatable sentence saying what failed, with its arguments (usually
 * _("Could not write “%s”"), path); the reason, or the advice to free disk
 * space, follows it.  A whole sentence, rather than a verb put into one, lets
 * translations order it as their grammar needs. */
void temper_set_file_error (GError **error, int saved_errno,
                            const char *format, ...) G_GNUC_PRINTF (3, 4);

/* The same, with errno read before the other arguments: looking up a
 * translation can change errno, and C leaves the order of evaluating
 * arguments open. */
#define temper_set_error_from_errno(error, saved_errno, ...) \
  G_STMT_START { \
    int temper_saved_errno_ = (saved_errno); \
    temper_set_file_error ((error), temper_saved_errno_, __VA_ARGS__); \
  } G_STMT_END

G_END_DECLS
