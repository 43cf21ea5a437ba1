/* SPDX-License-Identifier: MIT */
/* temper-export-job-files.c — the YAML, parallelism configs, launch scripts
 * and README of a cluster job.
 *
 * Key names follow each trainer's own argument classes (LLaMA-Factory 0.9.5:
 * hparams/{model,data,finetuning}_args.py and transformers'
 * TrainingArguments; axolotl: utils/schemas/{config,peft,training,datasets}.py). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <math.h>

#include <glib/gstdio.h>

#include "temper/error.h"
#include "temper-export-job-private.h"

static gboolean
write_file (const char *dir, const char *name, const GString *text, gboolean executable,
            GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (!g_file_set_contents (path, text->str, (gssize) text->len, error))
    {
      g_prefix_error (error, _("Could not write %s: "), path);
      return FALSE;
    }
  if (executable && g_chmod (path, 0755) != 0)
    {
      temper_set_error_from_errno (error, errno, _("Could not make the script “%s” runnable"), path);
      return FALSE;
    }
  return TRUE;
}

/* The shortest decimal that reads back as @v (as a float when @as_float,
 * for the settings Temper keeps in single precision): 0.05, not
 * 0.05000000074505806. */
static void
append_number (GString *s, const char *key, double v, gboolean as_float)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (int digits = 1; digits <= 17; digits++)
    {
      char format[8];
      double back;

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, v);
      back = g_ascii_strtod (buf, NULL);
      if (as_float ? (float) back == (float) v : back == v)
        break;
    }
  g_string_append_printf (s, "%s: %s\n", key, buf);
}

static void
append_double (GString *s, const char *key, double v)
{
  append_number (s, key, v, FALSE);
}

static void
append_float (GString *s, const char *key, float v)
{
  append_number (s, key, v, TRUE);
}

static void
append_string (GString *s, const char *key, const char *value)
{
  g_autofree char *quoted = temper_job_yaml_string (value);

  g_string_append_printf (s, "%s: %s\n", key, quoted);
}

/* transformers' scheduler names for Temper's schedules (each warms up
 * linearly over warmup_steps first). */
static const char *
hf_scheduler (TemperLrSchedule schedule)
{
  switch (schedule)
    {
    case TEMPER_LR_LINEAR: return "linear";
    case TEMPER_LR_COSINE: return "cosine";
    case TEMPER_LR_CONSTANT:
    default: return "constant_with_warmup";
    }
}

gboolean
temper_job_write_llamafactory_yaml (const TemperJob *job, const char *dir, GError **error)
{
  const TemperTrainSettings *t = job->settings;
  g_autoptr(GString) s = g_string_new (NULL);
  g_autofree char *targets = temper_job_peft_targets (t->lora.targets);

  g_string_append_printf (s, "# Temper run “%s” as a LLaMA-Factory job (see README.md).\n"
                          "# Effective batch on one GPU: %d × %d = %d sequences per step; the\n"
                          "# launch scripts share them among all the GPUs.\n\n",
                          job->run_name, t->micro_batch, t->grad_accum,
                          t->micro_batch * t->grad_accum);
  g_string_append (s, "### model\n");
  append_string (s, "model_name_or_path", job->model_id);
  g_string_append (s, "trust_remote_code: false\n");
  if (t->base_weights == TEMPER_BASE_WEIGHTS_NF4)
    g_string_append (s, "quantization_bit: 4\nquantization_method: bnb\n"
                        "quantization_type: nf4\ndouble_quantization: false\n");

  g_string_append (s, "\n### method\nstage: sft\ndo_train: true\nfinetuning_type: lora\n");
  g_string_append_printf (s, "lora_rank: %d\n", t->lora.rank);
  /* An integer for LLaMA-Factory; temper_job_export() refused any other. */
  g_string_append_printf (s, "lora_alpha: %d\n", (int) lrintf (t->lora.alpha));
  append_float (s, "lora_dropout", t->lora.dropout);
  g_string_append_printf (s, "lora_target: %s\n", targets);
  g_string_append_printf (s, "use_rslora: %s\n", t->lora.use_rslora ? "true" : "false");

  g_string_append (s, "\n### dataset\ndataset: temper_train\n");
  if (job->has_validation)
    g_string_append (s, "eval_dataset: temper_validation\n");
  g_string_append (s, "dataset_dir: data\n");
  append_string (s, "template", job->template_name);
  /* Temper's template decides the system message of records without one;
   * an empty string keeps LLaMA-Factory's template from adding its own. */
  append_string (s, "default_system", job->default_system != NULL ? job->default_system : "");
  g_string_append_printf (s, "cutoff_len: %d\n", t->max_length);
  g_string_append_printf (s, "train_on_prompt: %s\n", t->train_on_all_tokens ? "true" : "false");
  g_string_append (s, "mask_history: false\noverwrite_cache: true\npreprocessing_num_workers: 4\n");

  g_string_append (s, "\n### output\noutput_dir: output\nlogging_steps: 1\n");
  g_string_append_printf (s, "save_steps: %" G_GINT64_FORMAT "\n",
                          t->checkpoint_every > 0 ? t->checkpoint_every : 500);
  g_string_append (s, "plot_loss: true\noverwrite_output_dir: false\nsave_only_model: false\n"
                      "report_to: none\n");

  g_string_append (s, "\n### train\n");
  g_string_append_printf (s, "per_device_train_batch_size: %d\n", t->micro_batch);
  g_string_append_printf (s, "gradient_accumulation_steps: %d\n", t->grad_accum);
  append_double (s, "learning_rate", t->learning_rate);
  if (t->max_steps > 0)
    g_string_append_printf (s, "max_steps: %" G_GINT64_FORMAT "\n", t->max_steps);
  else
    g_string_append_printf (s, "num_train_epochs: %d.0\n", t->epochs);
  g_string_append_printf (s, "lr_scheduler_type: %s\n", hf_scheduler (t->schedule));
  g_string_append_printf (s, "warmup_steps: %" G_GINT64_FORMAT "\n", t->warmup_steps);
  append_double (s, "weight_decay", t->weight_decay);
  append_double (s, "adam_beta1", t->beta1);
  append_double (s, "adam_beta2", t->beta2);
  append_double (s, "adam_epsilon", t->eps);
  append_double (s, "max_grad_norm", t->max_grad_norm);
  g_string_append (s, "optim: adamw_torch\n");
  g_string_append_printf (s, "seed: %" G_GUINT64_FORMAT "\n", t->seed);
  g_string_append_printf (s, "disable_gradient_checkpointing: %s\n",
                          t->recompute ? "false" : "true");
  g_string_append (s, "bf16: true\nddp_timeout: 180000000\n");

  if (job->has_validation)
    {
      g_string_append (s, "\n### eval\n");
      g_string_append_printf (s, "per_device_eval_batch_size: %d\n", t->micro_batch);
      if (t->eval_every > 0)
        g_string_append_printf (s, "eval_strategy: steps\neval_steps: %" G_GINT64_FORMAT "\n",
                                t->eval_every);
      else
        g_string_append (s, "eval_strategy: epoch\n");
    }
  return write_file (dir, "llamafactory.yaml", s, FALSE, error);
}

gboolean
temper_job_write_axolotl_yaml (const TemperJob *job, const char *dir, GError **error)
{
  const TemperTrainSettings *t = job->settings;
  g_autoptr(GString) s = g_string_new (NULL);
  g_autofree char *targets = temper_job_peft_targets (t->lora.targets);
  g_auto(GStrv) target_list = g_strsplit (targets, ",", -1);

  g_string_append_printf (s, "# Temper run “%s” as an axolotl job (see README.md).\n\n",
                          job->run_name);
  append_string (s, "base_model", job->model_id);
  g_string_append (s, "strict: false\n");
  if (t->base_weights == TEMPER_BASE_WEIGHTS_NF4)
    g_string_append (s, "adapter: qlora\nload_in_4bit: true\nload_in_8bit: false\n");
  else
    g_string_append (s, "adapter: lora\nload_in_4bit: false\nload_in_8bit: false\n");
  g_string_append_printf (s, "lora_r: %d\n", t->lora.rank);
  append_float (s, "lora_alpha", t->lora.alpha);
  append_float (s, "lora_dropout", t->lora.dropout);
  g_string_append (s, "lora_target_linear: false\nlora_target_modules:\n");
  for (guint i = 0; target_list[i] != NULL; i++)
    g_string_append_printf (s, "  - %s\n", target_list[i]);
  g_string_append_printf (s, "peft_use_rslora: %s\n", t->lora.use_rslora ? "true" : "false");

  /* The model's own chat template: the one Temper recognised. */
  g_string_append (s, "\nchat_template: tokenizer_default\n");
  if (job->default_system != NULL)
    append_string (s, "default_system_message", job->default_system);
  /* Temper trains the token that ends each answer; axolotl does so for
   * its eot_tokens, which default to the tokenizer's EOS, not always that
   * token (a base model's EOS is often <|endoftext|>). */
  if (job->end_of_turn != NULL && !job->eos_ends_turn)
    {
      g_autofree char *quoted = temper_job_yaml_string (job->end_of_turn);

      g_string_append_printf (s, "eot_tokens:\n  - %s\n", quoted);
    }
  for (int part = 0; part < (job->has_validation ? 2 : 1); part++)
    {
      g_string_append (s, part == 0 ? "datasets:\n  - path: data/train.json\n"
                                    : "test_datasets:\n  - path: data/validation.json\n"
                                      "    split: train\n");
      g_string_append (s, "    ds_type: json\n    type: chat_template\n"
                          "    field_messages: messages\n"
                          "    message_property_mappings:\n      role: role\n      content: content\n"
                          "    roles_to_train: [assistant]\n");
      g_string_append (s, job->end_of_turn != NULL && !job->eos_ends_turn
                          ? "    train_on_eot: turn\n    train_on_eos: none\n"
                          : "    train_on_eos: turn\n");
    }
  g_string_append (s, "val_set_size: 0\ndataset_prepared_path: prepared\n");
  g_string_append_printf (s, "sequence_len: %d\n", t->max_length);
  g_string_append (s, "sample_packing: false\npad_to_sequence_len: false\n");
  g_string_append_printf (s, "train_on_inputs: %s\n", t->train_on_all_tokens ? "true" : "false");

  g_string_append (s, "\noutput_dir: output\nlogging_steps: 1\n");
  if (t->checkpoint_every > 0)
    g_string_append_printf (s, "save_steps: %" G_GINT64_FORMAT "\n", t->checkpoint_every);
  g_string_append_printf (s, "micro_batch_size: %d\n", t->micro_batch);
  g_string_append_printf (s, "gradient_accumulation_steps: %d\n", t->grad_accum);
  append_double (s, "learning_rate", t->learning_rate);
  g_string_append_printf (s, "num_epochs: %d\n", t->epochs);
  if (t->max_steps > 0)
    g_string_append_printf (s, "max_steps: %" G_GINT64_FORMAT "\n", t->max_steps);
  g_string_append_printf (s, "lr_scheduler: %s\n", hf_scheduler (t->schedule));
  g_string_append_printf (s, "warmup_steps: %" G_GINT64_FORMAT "\n", t->warmup_steps);
  g_string_append (s, "optimizer: adamw_torch\n");
  append_double (s, "weight_decay", t->weight_decay);
  append_double (s, "adam_beta1", t->beta1);
  append_double (s, "adam_beta2", t->beta2);
  append_double (s, "adam_epsilon", t->eps);
  append_double (s, "max_grad_norm", t->max_grad_norm);
  g_string_append_printf (s, "seed: %" G_GUINT64_FORMAT "\n", t->seed);
  g_string_append_printf (s, "gradient_checkpointing: %s\n", t->recompute ? "true" : "false");
  g_string_append (s, "bf16: auto\ntf32: false\n");
  if (job->has_validation && t->eval_every > 0)
    g_string_append_printf (s, "eval_steps: %" G_GINT64_FORMAT "\n", t->eval_every);
  g_string_append (s, "\n# Parallelism: train-*.sh pass one of these; uncomment to fix it here.\n"
                      "# deepspeed: ds_z2.json\n# deepspeed: ds_z3.json\n"
                      "# fsdp_version: 2\n# fsdp_config: (see fsdp.yaml)\n");
  return write_file (dir, "axolotl.yaml", s, FALSE, error);
}

/* DeepSpeed reads "auto" for the values the trainer already knows, so the
 * batch, accumulation, clipping and precision stay the YAML's. */
static void
append_deepspeed (GString *s, int stage)
{
  g_string_append (s, "{\n"
                      "  \"train_batch_size\": \"auto\",\n"
                      "  \"train_micro_batch_size_per_gpu\": \"auto\",\n"
                      "  \"gradient_accumulation_steps\": \"auto\",\n"
                      "  \"gradient_clipping\": \"auto\",\n"
                      "  \"zero_allow_untested_optimizer\": true,\n"
                      "  \"bf16\": { \"enabled\": \"auto\" },\n"
                      "  \"fp16\": { \"enabled\": \"auto\" },\n"
                      "  \"zero_optimization\": {\n");
  g_string_append_printf (s, "    \"stage\": %d,\n", stage);
  g_string_append (s, "    \"overlap_comm\": false,\n"
                      "    \"contiguous_gradients\": true,\n"
                      "    \"reduce_bucket_size\": \"auto\",\n");
  if (stage == 3)
    g_string_append (s, "    \"stage3_prefetch_bucket_size\": \"auto\",\n"
                        "    \"stage3_param_persistence_threshold\": \"auto\",\n"
                        "    \"stage3_max_live_parameters\": 1e9,\n"
                        "    \"stage3_max_reuse_distance\": 1e9,\n"
                        "    \"stage3_gather_16bit_weights_on_model_save\": true\n");
  else
    g_string_append (s, "    \"allgather_partitions\": true,\n"
                        "    \"allgather_bucket_size\": 5e8,\n"
                        "    \"reduce_scatter\": true\n");
  g_string_append (s, "  }\n}\n");
}

static const char *
decoder_layer_class (TemperArch arch)
{
  return arch == TEMPER_ARCH_QWEN2 ? "Qwen2DecoderLayer" : "LlamaDecoderLayer";
}

gboolean
temper_job_write_parallel_configs (const TemperJob *job, const char *dir, GError **error)
{
  g_autoptr(GString) z2 = g_string_new (NULL);
  g_autoptr(GString) z3 = g_string_new (NULL);
  g_autoptr(GString) fsdp = g_string_new (NULL);

  append_deepspeed (z2, 2);
  append_deepspeed (z3, 3);
  if (job->engine == TEMPER_JOB_LLAMAFACTORY)
    {
      /* An accelerate config: LLaMA-Factory runs FSDP through accelerate. */
      g_string_append (fsdp, "compute_environment: LOCAL_MACHINE\ndebug: false\n"
                             "distributed_type: FSDP\ndowncast_bf16: 'no'\nfsdp_config:\n"
                             "  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n"
                             "  fsdp_backward_prefetch: BACKWARD_PRE\n"
                             "  fsdp_forward_prefetch: false\n"
                             "  fsdp_cpu_ram_efficient_loading: true\n"
                             "  fsdp_offload_params: false\n"
                             "  fsdp_sharding_strategy: FULL_SHARD\n"
                             "  fsdp_state_dict_type: FULL_STATE_DICT\n"
                             "  fsdp_sync_module_states: true\n"
                             "  fsdp_use_orig_params: true\n");
      g_string_append_printf (fsdp, "  fsdp_transformer_layer_cls_to_wrap: %s\n",
                              decoder_layer_class (job->arch));
      g_string_append_printf (fsdp, "machine_rank: 0\nmain_training_function: main\n"
                              "mixed_precision: bf16\nnum_machines: 1\nnum_processes: %d\n"
                              "rdzv_backend: static\nsame_network: true\ntpu_env: []\n"
                              "tpu_use_cluster: false\ntpu_use_sudo: false\nuse_cpu: false\n",
                              job->gpus_per_node);
    }
  else
    {
      /* axolotl's own keys, to paste into axolotl.yaml or pass as a second
       * config; train-*.sh merge them with --fsdp. */
      g_string_append (fsdp, "fsdp_version: 2\nfsdp_config:\n"
                             "  offload_params: false\n"
                             "  state_dict_type: FULL_STATE_DICT\n"
                             "  auto_wrap_policy: TRANSFORMER_BASED_WRAP\n"
                             "  reshard_after_forward: true\n"
                             "  cpu_ram_efficient_loading: true\n");
      g_string_append_printf (fsdp, "  transformer_layer_cls_to_wrap: %s\n",
                              decoder_layer_class (job->arch));
    }
  return write_file (dir, "ds_z2.json", z2, FALSE, error)
         && write_file (dir, "ds_z3.json", z3, FALSE, error)
         && write_file (dir, "fsdp.yaml", fsdp, FALSE, error);
}

/* Shell that picks PARALLEL (zero2, zero3, fsdp) and keeps the effective
 * batch: the sequences of one step are shared among all the GPUs, each
 * taking as many per micro-batch as the run did or fewer. */
static void
append_script_head (GString *s, const TemperJob *job, gboolean multinode)
{
  g_string_append (s, "#!/bin/sh\n");
  g_string_append_printf (s, "# Temper run “%s”: %s on %s.\n", job->run_name,
                          job->engine == TEMPER_JOB_AXOLOTL ? "axolotl" : "LLaMA-Factory",
                          multinode ? "several nodes (run once on every node)" : "one node");
  g_string_append (s, "#   PARALLEL=zero2 (default) | zero3 | fsdp\n");
  if (multinode)
    g_string_append (s, "#   NNODES, NODE_RANK (0 on the first node), MASTER_ADDR (the first node), "
                        "MASTER_PORT\n");
  g_string_append (s, "set -eu\ncd \"$(dirname \"$0\")\"\n");
  g_string_append_printf (s, "GPUS=\"${GPUS:-%d}\"\n", job->gpus_per_node);
  if (multinode)
    g_string_append_printf (s, "NNODES=\"${NNODES:-%d}\"\nNODE_RANK=\"${NODE_RANK:?set NODE_RANK}\"\n"
                            "MASTER_ADDR=\"${MASTER_ADDR:?set MASTER_ADDR to the first node}\"\n"
                            "MASTER_PORT=\"${MASTER_PORT:-29500}\"\n", job->nodes);
  else
    g_string_append (s, "NNODES=1\nNODE_RANK=0\nMASTER_ADDR=127.0.0.1\n"
                        "MASTER_PORT=\"${MASTER_PORT:-29500}\"\n");
  g_string_append (s, "PARALLEL=\"${PARALLEL:-zero2}\"\n");
  g_string_append_printf (s, "# The run: %d sequences per micro-batch, %d micro-batches per step.\n"
                          "MICRO=%d\nACCUM=%d\n",
                          job->settings->micro_batch, job->settings->grad_accum,
                          job->settings->micro_batch, job->settings->grad_accum);
  g_string_append (s, "WORLD=$((GPUS * NNODES))\nBATCH=$((MICRO * ACCUM))\n"
                      "if [ $((BATCH % WORLD)) -eq 0 ]; then\n"
                      "  PER_GPU=$((BATCH / WORLD))\n"
                      "  while [ $((PER_GPU % MICRO)) -ne 0 ]; do MICRO=$((MICRO - 1)); done\n"
                      "  ACCUM=$((PER_GPU / MICRO))\n"
                      "else\n"
                      "  echo \"note: $WORLD GPUs cannot share the run's $BATCH sequences per step\"\\\n"
                      "       \"evenly; each step now sees $((BATCH * WORLD)) of them\" >&2\n"
                      "fi\n");
}

static void
append_launch (GString *s, const TemperJob *job)
{
  if (job->engine == TEMPER_JOB_LLAMAFACTORY)
    {
      g_string_append (s, "case \"$PARALLEL\" in\n"
                          "  zero2|zero3)\n"
                          "    DS=ds_z2.json; [ \"$PARALLEL\" = zero3 ] && DS=ds_z3.json\n"
                          "    FORCE_TORCHRUN=1 NNODES=\"$NNODES\" NODE_RANK=\"$NODE_RANK\" "
                          "NPROC_PER_NODE=\"$GPUS\" \\\n"
                          "      MASTER_ADDR=\"$MASTER_ADDR\" MASTER_PORT=\"$MASTER_PORT\" \\\n"
                          "      llamafactory-cli train llamafactory.yaml deepspeed=\"$DS\" "
                          "per_device_train_batch_size=\"$MICRO\" \\\n"
                          "      gradient_accumulation_steps=\"$ACCUM\" ;;\n"
                          "  fsdp)\n"
                          "    accelerate launch --config_file fsdp.yaml --num_machines \"$NNODES\" "
                          "--machine_rank \"$NODE_RANK\" \\\n"
                          "      --num_processes \"$WORLD\" --main_process_ip \"$MASTER_ADDR\" "
                          "--main_process_port \"$MASTER_PORT\" \\\n"
                          "      -m llamafactory.launcher llamafactory.yaml "
                          "per_device_train_batch_size=\"$MICRO\" \\\n"
                          "      gradient_accumulation_steps=\"$ACCUM\" ;;\n"
                          "  *) echo \"PARALLEL must be zero2, zero3 or fsdp\" >&2; exit 2 ;;\n"
                          "esac\n");
    }
  else
    {
      g_string_append (s, "case \"$PARALLEL\" in\n"
                          "  zero2) EXTRA=\"--deepspeed ds_z2.json\" ;;\n"
                          "  zero3) EXTRA=\"--deepspeed ds_z3.json\" ;;\n"
                          "  fsdp) cat axolotl.yaml fsdp.yaml > axolotl-fsdp.yaml; EXTRA=\"\" ;;\n"
                          "  *) echo \"PARALLEL must be zero2, zero3 or fsdp\" >&2; exit 2 ;;\n"
                          "esac\n"
                          "CONFIG=axolotl.yaml; [ \"$PARALLEL\" = fsdp ] && CONFIG=axolotl-fsdp.yaml\n"
                          "# shellcheck disable=SC2086\n"
                          "torchrun --nproc_per_node \"$GPUS\" --nnodes \"$NNODES\" "
                          "--node_rank \"$NODE_RANK\" \\\n"
                          "  --master_addr \"$MASTER_ADDR\" --master_port \"$MASTER_PORT\" \\\n"
                          "  -m axolotl.cli.train \"$CONFIG\" $EXTRA --micro_batch_size \"$MICRO\" "
                          "--gradient_accumulation_steps \"$ACCUM\"\n");
    }
}

gboolean
temper_job_write_launch_scripts (const TemperJob *job, const char *dir, GError **error)
{
  g_autoptr(GString) one = g_string_new (NULL);
  g_autoptr(GString) multi = g_string_new (NULL);
  g_autoptr(GString) sbatch = g_string_new (NULL);

  append_script_head (one, job, FALSE);
  append_launch (one, job);
  append_script_head (multi, job, TRUE);
  append_launch (multi, job);

  g_string_append (sbatch, "#!/bin/bash\n");
  g_string_append_printf (sbatch, "# Temper run “%s” under Slurm: sbatch train.sbatch\n"
                          "# Adjust the partition, time and GPU request to your cluster.\n",
                          job->run_name);
  g_string_append_printf (sbatch, "#SBATCH --job-name=temper-%s\n", job->run_name);
  g_string_append_printf (sbatch, "#SBATCH --nodes=%d\n#SBATCH --ntasks-per-node=1\n"
                          "#SBATCH --gpus-per-node=%d\n#SBATCH --cpus-per-task=16\n"
                          "#SBATCH --time=24:00:00\n#SBATCH --output=slurm-%%j.out\n",
                          job->nodes, job->gpus_per_node);
  g_string_append (sbatch, "set -eu\ncd \"$SLURM_SUBMIT_DIR\"\n"
                           "MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\n"
                           "export MASTER_ADDR MASTER_PORT=\"${MASTER_PORT:-29500}\"\n"
                           "export NNODES=\"$SLURM_JOB_NUM_NODES\" GPUS=\"${SLURM_GPUS_PER_NODE:-");
  g_string_append_printf (sbatch, "%d", job->gpus_per_node);
  g_string_append (sbatch, "}\"\n"
                           "srun --kill-on-bad-exit=1 bash -c 'NODE_RANK=$SLURM_NODEID "
                           "./train-multinode.sh'\n");

  return write_file (dir, "train-1node.sh", one, TRUE, error)
         && write_file (dir, "train-multinode.sh", multi, TRUE, error)
         && write_file (dir, "train.sbatch", sbatch, TRUE, error);
}

gboolean
temper_job_write_readme (const TemperJob *job, const char *dir, GError **error)
{
  const TemperTrainSettings *t = job->settings;
  gboolean lf = job->engine == TEMPER_JOB_LLAMAFACTORY;
  const char *yaml = lf ? "llamafactory.yaml" : "axolotl.yaml";
  g_autoptr(GString) s = g_string_new (NULL);

  g_string_append_printf (s, _("# Temper run “%s” on a cluster\n\n"), job->run_name);
  g_string_append_printf (s, _("This folder trains the same LoRA adapter as the Temper run, with %s "
                               "on one or more machines with several GPUs. It holds the %u training "
                               "and %u validation records Temper kept (the same split), the "
                               "settings in `%s`, DeepSpeed ZeRO-2/ZeRO-3 (`ds_z2.json`, "
                               "`ds_z3.json`) and FSDP (`fsdp.yaml`) configurations, and launch "
                               "scripts.\n\n"),
                          lf ? "LLaMA-Factory" : "axolotl", job->n_train, job->n_validation, yaml);
  g_string_append (s, _("## 1. Install the trainer on the cluster\n\n"));
  if (lf)
    g_string_append (s, "    pip install \"llamafactory[torch,metrics,deepspeed]\"\n\n");
  else
    g_string_append (s, "    pip install \"axolotl[deepspeed]\"\n\n");
  g_string_append_printf (s, _("The base model is `%s`. If the cluster keeps models elsewhere, "
                               "change the first setting of `%s` to that folder or Hugging Face "
                               "id; it must be the same model.\n\n"),
                          job->model_id, yaml);
  g_string_append (s, _("## 2. Train\n\nCopy this folder to the cluster, then, from inside it:\n\n"));
  g_string_append_printf (s, _("- one machine with several GPUs: `GPUS=%d ./train-1node.sh`\n"
                               "- several machines: on each, `NNODES=%d NODE_RANK=<0…> "
                               "MASTER_ADDR=<first machine> ./train-multinode.sh`\n"
                               "- Slurm: `sbatch train.sbatch` (edit its #SBATCH lines first)\n\n"),
                          job->gpus_per_node, job->nodes);
  g_string_append (s, _("`PARALLEL=zero2` (the default) shards the optimizer state, `PARALLEL=zero3` "
                        "also the weights (for models that do not fit one GPU), `PARALLEL=fsdp` uses "
                        "FSDP instead of DeepSpeed.\n\n"));
  g_string_append_printf (s, _("Temper's run takes %d sequences per step (%d per micro-batch × %d "
                               "accumulated). The scripts share them among all the GPUs, with as "
                               "many per micro-batch or fewer, so each step still sees %d sequences "
                               "when the number of GPUs divides them; otherwise they say how the "
                               "batch changes.\n\n"),
                          t->micro_batch * t->grad_accum, t->micro_batch, t->grad_accum,
                          t->micro_batch * t->grad_accum);
  g_string_append (s, _("## 3. Bring the adapter back\n\nThe trainer writes `output/` (the PEFT "
                        "adapter `adapter_config.json` + `adapter_model.safetensors`, and "
                        "`trainer_state.json` with the loss curve). Copy the whole job folder "
                        "back, then:\n\n    temper-cli import JOB_FOLDER\n\nor, in Temper, Runs → "
                        "Import a Cluster Run…. The run appears with its loss curve and adapter, "
                        "ready for Compare, Evaluate and Export.\n\n"));
  g_string_append (s, _("## What is the same and what is not\n\nThe same: the records and their "
                        "split, the chat template and system message, the token ids, loss on the "
                        "answers only, the sequence length, LoRA rank, alpha, dropout, targets and "
                        "rsLoRA, the optimizer (AdamW), learning rate, schedule, warm-up, steps or "
                        "epochs, clipping, seed, and the 4-bit base when the run uses one.\n\n"
                        "Not the same: the order of batches and the dropout masks come from the "
                        "trainer's random generator, and GPUs compute in bf16, so losses agree in "
                        "their course, not digit for digit."));
  if (lf && job->family == TEMPER_CHAT_FAMILY_CHATML)
    g_string_append (s, _(" LLaMA-Factory also trains on the line break after each <|im_end|>, "
                          "which Temper leaves out; it does not change the answers, which end at "
                          "<|im_end|>."));
  if (lf && (job->family == TEMPER_CHAT_FAMILY_LLAMA2 || job->family == TEMPER_CHAT_FAMILY_MISTRAL))
    g_string_append (s, _(" Not quite the same for this model: LLaMA-Factory's Llama 2 and Mistral "
                          "templates lay out the answers a little differently from the model's own "
                          "template (the Llama 2 one leaves out the space before </s>, one token per "
                          "answer). Export the job for axolotl, which uses the model's own template, "
                          "to train on exactly Temper's tokens."));
  g_string_append (s, _(" Records longer than the cutoff are shortened by the trainer's own rule, "
                        "which may keep a different part than Temper does.\n"));
  return write_file (dir, "README.md", s, FALSE, error);
}
