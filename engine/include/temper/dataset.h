/* SPDX-License-Identifier: MIT */
/* dataset.h — training data: reading, checking, rendering and splitting.
 *
 * A dataset is a UTF-8 file holding either one JSON array of records, one
 * JSON record per line (JSONL), a table (CSV or TSV with a header row: one
 * column is the question, one the answer, one optionally the system
 * prompt), or plain text / Markdown for continued pre-training (cut into
 * chunks of at most max_length tokens that overlap a little, at paragraph
 * breaks where possible).  The format of the records is recognised
 * from the first one (or set by the caller): Alpaca, instruction/output,
 * prompt/response, chat messages, ShareGPT conversations, or plain text for
 * continued pre-training.
 *
 * Loading checks every record and keeps the good ones; each bad one is listed
 * in the report with its line (JSONL) or item number (JSON array) and the
 * reason in plain words, so a person can fix the file.  JSONL is read line by
 * line from a memory-mapped file and each record is parsed alone, so a large
 * file costs little more memory than the text it keeps. */
#pragma once

#include <gio/gio.h>
#include "temper/chat.h"

G_BEGIN_DECLS

typedef struct temper_dataset temper_dataset_t;

typedef enum {
  TEMPER_DATASET_FORMAT_AUTO,               /* recognise from the first record */
  TEMPER_DATASET_FORMAT_ALPACA,             /* instruction, input (optional), output, system (optional) */
  TEMPER_DATASET_FORMAT_INSTRUCTION_OUTPUT, /* instruction, output */
  TEMPER_DATASET_FORMAT_PROMPT_RESPONSE,    /* prompt, response (or completion), system (optional) */
  TEMPER_DATASET_FORMAT_MESSAGES,           /* messages: [{role, content}, …] */
  TEMPER_DATASET_FORMAT_SHAREGPT,           /* conversations: [{from, value}, …] */
  TEMPER_DATASET_FORMAT_TEXT,               /* text: loss on every token */
} TemperDatasetFormat;

/* "alpaca", "instruction-output", "prompt-response", "messages", "sharegpt",
 * "text" (and "auto"). */
const char *temper_dataset_format_name      (TemperDatasetFormat format);
/* A sentence-case label for people: "Alpaca", "Chat messages", … */
const char *temper_dataset_format_label     (TemperDatasetFormat format);
gboolean    temper_dataset_format_from_name (const char *name, TemperDatasetFormat *out);

typedef enum {
  TEMPER_DATASET_PROBLEM_NOT_JSON,      /* not JSON at all, or cut off */
  TEMPER_DATASET_PROBLEM_NOT_OBJECT,    /* JSON, but not an object {…} */
  TEMPER_DATASET_PROBLEM_INVALID_UTF8,  /* bytes that are not UTF-8 text */
  TEMPER_DATASET_PROBLEM_MISSING_FIELD,
  TEMPER_DATASET_PROBLEM_WRONG_TYPE,    /* e.g. a number where text belongs */
  TEMPER_DATASET_PROBLEM_UNKNOWN_ROLE,  /* a speaker that is not system/user/assistant */
  TEMPER_DATASET_PROBLEM_EMPTY_ANSWER,  /* nothing for the model to learn */
  TEMPER_DATASET_PROBLEM_OTHER_FORMAT,  /* a record in another format than the file's */
  TEMPER_DATASET_PROBLEM_DUPLICATE,     /* the same as an earlier record */
  TEMPER_DATASET_PROBLEM_TOO_LARGE,     /* larger than max_record_bytes */
  TEMPER_DATASET_PROBLEM_NO_ANSWER_LEFT,/* the answer lies wholly past max_length */
  TEMPER_DATASET_PROBLEM_BAD_ROW,       /* CSV/TSV: a row with more or fewer fields than the header */
} TemperDatasetProblemKind;

/* How the file holds its records. */
typedef enum {
  TEMPER_DATASET_LAYOUT_AUTO,        /* from the name's extension and the first character */
  TEMPER_DATASET_LAYOUT_JSON_ARRAY,
  TEMPER_DATASET_LAYOUT_JSONL,
  TEMPER_DATASET_LAYOUT_CSV,         /* .csv */
  TEMPER_DATASET_LAYOUT_TSV,         /* .tsv, .tab */
  TEMPER_DATASET_LAYOUT_TEXT,        /* .txt, .md, .markdown: continued pre-training */
} TemperDatasetLayout;

/* "auto", "json-array", "jsonl", "csv", "tsv", "text". */
const char *temper_dataset_layout_name (TemperDatasetLayout layout);
/* The layout a file of this name has by its extension; AUTO when the name
 * says nothing (JSON and JSONL are told apart by their first character). */
TemperDatasetLayout temper_dataset_layout_from_path (const char *path);

/* "not-json", "not-object", "invalid-utf8", "missing-field", "wrong-type",
 * "unknown-role", "empty-answer", "other-format", "duplicate", "too-large",
 * "no-answer-left", "bad-row". */
const char *temper_dataset_problem_kind_name (TemperDatasetProblemKind kind);

/* Every problem drops its record. */
typedef struct {
  TemperDatasetProblemKind kind;
  guint64  line;           /* line in the file where the record starts, from 1 */
  gint64   item;           /* JSON array: index from 0; JSONL: -1 */
  gint64   duplicate_of;   /* DUPLICATE: the line of the first copy; else -1 */
  char    *message;        /* the reason, without the place: "the field “output” is missing" */
} TemperDatasetProblem;

/* Token lengths fall in these buckets: [0,64) [64,128) … [2048,4096) [4096,∞). */
#define TEMPER_DATASET_N_BUCKETS 8
/* The first length of bucket @i; bucket N_BUCKETS-1 has no end. */
int temper_dataset_bucket_start (guint i);

typedef struct {
  TemperDatasetFormat format;      /* as recognised or set */
  gboolean  jsonl;                 /* one record per line, not a JSON array */
  TemperDatasetLayout layout;      /* never AUTO once loaded */
  /* CSV/TSV: the header's column names, and which column holds what (from
   * 0; -1 for none). */
  guint     n_columns;
  char    **columns;
  int       question_column;
  int       answer_column;
  int       system_column;
  /* TEXT: each record is a chunk of at most chunk_length tokens (estimated
   * at four bytes a token without a tokenizer); consecutive chunks share up
   * to chunk_overlap tokens. */
  int       chunk_length;
  int       chunk_overlap;
  guint64   n_records;             /* records found, good and bad */
  guint64   n_valid;               /* records kept for training */
  guint64   n_dropped;             /* records left out (one problem each) */
  guint64   n_truncated;           /* kept, but cut at max_length */
  guint64   n_problems;            /* == n_dropped; the list below may be shorter */
  guint     n_listed;              /* problems listed (the first ones) */
  const TemperDatasetProblem *problems;
  /* Token statistics, over kept records, before truncation.  Only when the
   * dataset was loaded with a chat template. */
  gboolean  has_token_stats;
  guint64   tokens_total;          /* after truncation */
  guint64   tokens_trained;        /* of those, tokens the loss covers */
  int       token_min;
  int       token_max;
  int       token_median;
  int       token_p95;
  double    token_mean;
  guint64   histogram[TEMPER_DATASET_N_BUCKETS];
} TemperDatasetReport;

typedef void (*TemperDatasetProgress) (double fraction, gpointer user_data);

typedef struct {
  TemperDatasetFormat           format;          /* AUTO by default */
  /* With a template (that has a tokenizer) every kept record is rendered to
   * tokens and a loss mask, and the report has token statistics.  Only used
   * while loading. */
  const temper_chat_template_t *chat_template;
  int                           max_length;      /* tokens per record; 0 = no limit */
  gboolean                      train_on_prompt; /* loss on every token, not just the answers */
  gsize                         max_record_bytes;/* larger records are refused; default 8 MiB */
  guint                         max_listed;      /* problems kept in the list; 0 = default 1000 */
  TemperDatasetLayout           layout;          /* AUTO by default */
  /* CSV/TSV: the columns holding the question, the answer and (optional)
   * the system prompt, each a header name (any case) or a number from 1.
   * NULL: recognised from the header (“question”, “prompt”, “instruction”,
   * “answer”, “response”, “output”, “system”, 问题, 答案 …), or the two
   * columns of a two-column file. */
  const char                   *question_column;
  const char                   *answer_column;
  const char                   *system_column;
  /* TEXT: tokens shared by consecutive chunks; -1 (the default) = an
   * eighth of the chunk length. */
  int                           chunk_overlap;
  GCancellable                 *cancellable;
  TemperDatasetProgress         progress;        /* called now and then from the loading thread */
  gpointer                      progress_data;
} TemperDatasetOptions;

void temper_dataset_options_init (TemperDatasetOptions *options);

/* A kept record.  Text records (format TEXT) have one message holding the
 * text, with role USER. */
typedef struct {
  guint64                  line;
  gint64                   item;          /* -1 for JSONL */
  const TemperChatMessage *messages;
  gsize                    n_messages;
  int                      n_tokens;      /* before truncation; -1 without a template */
  gboolean                 truncated;
} TemperDatasetRecord;

/* Reads and checks @path.  Fails when the file cannot be read, is not UTF-8
 * text (e.g. saved as UTF-16), is empty, or has no usable record at all; the
 * message then says why, with the first few problems. */
temper_dataset_t *temper_dataset_load (const char                 *path,
                                       const TemperDatasetOptions *options,
                                       GError                    **error);
void              temper_dataset_free (temper_dataset_t *dataset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (temper_dataset_t, temper_dataset_free)

const char                *temper_dataset_get_path      (const temper_dataset_t *dataset);
const TemperDatasetReport *temper_dataset_get_report    (const temper_dataset_t *dataset);
gsize                      temper_dataset_get_n_records (const temper_dataset_t *dataset);
const TemperDatasetRecord *temper_dataset_get_record    (const temper_dataset_t *dataset, gsize i);
/* The tokens of kept record @i after truncation, and its loss mask (1 where
 * the token is a target of the loss; never the first token, which nothing
 * predicts).  FALSE when loaded without a chat template.  The arrays
 * belong to the dataset. */
gboolean temper_dataset_get_tokens (const temper_dataset_t *dataset, gsize i,
                                    const gint32 **ids, const guint8 **mask, gsize *n);

/* The column names of the CSV or TSV file at @path (its first row), as a
 * NULL-terminated array; NULL with @error set when it cannot be read or has
 * no header.  @layout: CSV, TSV, or AUTO to go by the extension. */
char **temper_dataset_read_columns (const char          *path,
                                    TemperDatasetLayout  layout,
                                    GError             **error);

/* Findings: records that load but are likely to teach the wrong thing.
 * Unlike problems, they drop nothing; the person decides (drop or keep). */
typedef enum {
  TEMPER_DATASET_FINDING_NEAR_DUPLICATE, /* the same as an earlier record once case, width,
                                            punctuation and spaces are ignored; or, for long
                                            texts, ≥ 90 % the same (Jaccard of 5-character shingles) */
  TEMPER_DATASET_FINDING_LEAKAGE,        /* the same or nearly the same record is in the validation data */
  TEMPER_DATASET_FINDING_SHORT_ANSWER,   /* an answer of one character, or “n/a”, “…” */
  TEMPER_DATASET_FINDING_MARKUP,         /* HTML tags or entities */
  TEMPER_DATASET_FINDING_MOJIBAKE,       /* text decoded with the wrong encoding (“Ã©”, “â€™”, “锟斤拷”) */
  TEMPER_DATASET_FINDING_MIXED_LANGUAGE, /* the answer is in another language than the question */
  TEMPER_DATASET_FINDING_LENGTH_OUTLIER, /* cut at the length limit, or far longer than the rest */
  TEMPER_DATASET_N_FINDING_KINDS
} TemperDatasetFindingKind;

typedef struct {
  TemperDatasetFindingKind kind;
  gsize    record;        /* the kept record (temper_dataset_get_record) */
  guint64  line;
  gint64   item;
  gint64   other_line;    /* NEAR_DUPLICATE: the first copy's line; LEAKAGE: the validation
                             record's line; else -1 */
  char    *excerpt;       /* at most 60 characters of the text concerned, on one line */
  char    *message;       /* what is wrong, in a sentence */
  const char *fix;        /* the suggested fix, in a sentence (translated) */
} TemperDatasetFinding;

/* "near-duplicate", "leakage", "short-answer", "markup", "mojibake",
 * "mixed-language", "length-outlier". */
const char *temper_dataset_finding_kind_name      (TemperDatasetFindingKind kind);
gboolean    temper_dataset_finding_kind_from_name (const char *name, TemperDatasetFindingKind *out);
/* A plural label for people: “Near-duplicates”, “Mojibake (wrong text encoding)” … */
const char *temper_dataset_finding_kind_label     (TemperDatasetFindingKind kind);

/* Looks through the kept records of @dataset (and, for leakage, compares
 * them with @validation, which may be NULL).  Returns a new array of
 * TemperDatasetFinding in record order (freeing it frees the findings). */
GArray *temper_dataset_find (const temper_dataset_t *dataset,
                             const temper_dataset_t *validation);
/* temper_dataset_find() without a validation file, when the run holds the
 * records @held_back (guint indices, as temper_dataset_split() gives them)
 * back to check the training: each held-back record that nearly duplicates
 * a record trained on is leakage, reported on the record trained on with
 * the held-back record's line in other_line. */
GArray *temper_dataset_find_with_split (const temper_dataset_t *dataset,
                                        const GArray           *held_back);
/* Leakage between the records a run trains on and those it checks the
 * training with, which may come from several datasets (a mix, a separate
 * validation file): @trained and @held_back hold (dataset << 40) | record,
 * as temper_dataset_mix_pick() gives them, dataset indexing @datasets.
 * Each held-back record that nearly duplicates one trained on from
 * @datasets[0] is reported on that record (findings on the other datasets'
 * records are left out: only the first one's records are listed to drop);
 * other_line is the held-back record's line, the message names its file
 * when it is not @datasets[0].  @held_back_is_file: the held-back records
 * are a validation file of their own, not records held back from the data.
 * A new array of LEAKAGE findings in record order. */
GArray *temper_dataset_find_leakage (temper_dataset_t *const *datasets,
                                     guint                   n_datasets,
                                     const GArray           *trained,
                                     const GArray           *held_back,
                                     gboolean                held_back_is_file);

/* Writes the kept records of @dataset whose @drop entry is FALSE (@drop has
 * one entry per kept record; NULL keeps all) to a new JSONL file at @path:
 * {"messages": […]} records, or {"text": …} for plain text.  Refuses a
 * @path that exists (the dataset's own file included): nothing is ever
 * overwritten.  Returns the number of records written, or -1 with @error. */
gint64 temper_dataset_write_jsonl (const temper_dataset_t *dataset,
                                   const gboolean         *drop,
                                   const char             *path,
                                   GError                **error);

/* Several datasets in one run: writes a new JSONL file at @path (refused
 * when it exists) in which dataset i makes up @weights[i] / Σ weights of
 * the records: the largest such mix that needs no record twice (a repeat
 * would be a duplicate), each dataset's share a random choice by @seed,
 * in a shuffled order.  Returns the records written, and each dataset's
 * count in @counts (may be NULL), or -1. */
gint64 temper_dataset_write_mix (temper_dataset_t *const *datasets,
                                 const double           *weights,
                                 guint                   n,
                                 guint64                 seed,
                                 const char             *path,
                                 guint64                *counts,
                                 GError                **error);

/* The records temper_dataset_write_mix() writes for datasets of
 * @n_records[i] records each, in its order: a new GArray of guint64, each
 * (dataset << 40) | record.  @counts as there.  Lets a caller count a mix
 * (records, tokens) without writing it. */
GArray *temper_dataset_mix_pick (const gsize  *n_records,
                                 const double *weights,
                                 guint         n,
                                 guint64       seed,
                                 guint64      *counts);

/* The report as JSON with @findings (may be NULL) listed under “findings”. */
char *temper_dataset_report_to_json_with_findings (const temper_dataset_t *dataset,
                                                   const GArray           *findings);

/* "line 4" for JSONL, "item 3 (line 17)" for a JSON array (items counted
 * from 1 here, for people): where a record or problem is, for messages. */
char *temper_dataset_describe_place (guint64 line, gint64 item);

/* Statistics of @n token lengths (before truncation), as the report gives
 * them for a dataset's kept records: nearest-rank median and 95th
 * percentile, and how many are longer than @max_length (0: no limit) and
 * so cut short.  For a set of records that is not one dataset (a mix, the
 * records left after drops), counted the same way.  All zero when @n is 0. */
typedef struct {
  guint64 n;
  guint64 total;
  int     min;
  int     max;
  int     median;
  int     p95;
  double  mean;
  guint64 n_cut;
} TemperDatasetLengthStats;

void temper_dataset_length_stats (const guint32 *lengths, gsize n, int max_length,
                                  TemperDatasetLengthStats *stats);

/* The report as JSON, for temper-cli and run folders. */
char *temper_dataset_report_to_json (const temper_dataset_t *dataset);

/* The validation fraction used when none is chosen: 10% from 50 records up,
 * none below (too few to spare). */
double temper_dataset_default_validation_fraction (gsize n_records);

/* Splits the kept records: round(n × @fraction) of them (at least one when
 * @fraction > 0, never all) go to validation, picked by @seed alone, so the
 * same seed gives the same split.  Both arrays hold guint record indices in
 * increasing order.  With a separate validation file, load it as a dataset
 * of its own instead. */
void temper_dataset_split (const temper_dataset_t *dataset, double fraction, guint64 seed,
                           GArray **train, GArray **validation);
/* temper_dataset_split() of a file of @n records that is not loaded yet
 * (a cleaned copy or a mix about to be written): the same records. */
void temper_dataset_split_n (guint n, double fraction, guint64 seed, GArray **train, GArray **validation);
/* How many of @n records temper_dataset_split() holds back at @fraction. */
guint temper_dataset_split_count (guint n, double fraction);

G_END_DECLS
