/* SPDX-License-Identifier: MIT */
/* input.h — checks on the files and numbers a person hands Temper.
 *
 * A model, dataset, config or adapter path may name anything: a FIFO (reading
 * it blocks forever), a device (it never ends), a socket, or a folder where a
 * file is expected.  temper_input_check_path() says so in a sentence before
 * anything opens it.  The range checks give every flag and every key of a
 * file the same message: its name, the value given and the allowed range. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  TEMPER_INPUT_FILE,            /* a regular file (or a link to one) */
  TEMPER_INPUT_FOLDER,          /* a folder */
  TEMPER_INPUT_FILE_OR_FOLDER,  /* either, e.g. a model (.gguf file or HF folder) */
} TemperInputKind;

/* TRUE when @path exists and is of @kind.  Otherwise FALSE with a
 * TEMPER_ERROR_IO (missing, unreadable) or TEMPER_ERROR_INVALID_ARGUMENT
 * (a special file, or a folder/file where the other was expected) whose
 * message names @what (“the dataset”, “--config”) and @path. */
gboolean temper_input_check_path (const char      *path,
                                  TemperInputKind  kind,
                                  const char      *what,
                                  GError         **error);

/* Opens @path for reading after checking that it is a regular file no
 * larger than @max_size (0: no limit): opened without blocking and checked
 * on the open descriptor, so a FIFO swapped in meanwhile cannot hang the
 * reader.  Returns the descriptor (the caller closes it) and its size in
 * *@size, or -1 with @error set as temper_input_check_path. */
int      temper_input_open_file    (const char  *path,
                                    const char  *what,
                                    gsize        max_size,
                                    gsize       *size,
                                    GError     **error);

/* TRUE when @min <= @value <= @max; otherwise a TEMPER_ERROR_INVALID_ARGUMENT
 * naming @name (a flag such as “--rank” or a key such as “hidden_size”),
 * the value and the range. */
gboolean temper_input_check_int    (const char  *name,
                                    gint64       value,
                                    gint64       min,
                                    gint64       max,
                                    GError     **error);

/* The same for a real number; NaN and infinities are always refused. */
gboolean temper_input_check_double (const char  *name,
                                    double       value,
                                    double       min,
                                    double       max,
                                    GError     **error);

G_END_DECLS
