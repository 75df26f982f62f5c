// nnUNetv2_find_best_configuration (evaluation/find_best_configuration.py): score every trained configuration on its
// merged cross-validation, and every pairwise ensemble of them (softmax averaging of the folds' validation .npz), pick
// the best on foreground mean Dice (the first on a tie, so a single model beats an ensemble), determine the
// postprocessing on the winner, and write inference_information.json and inference_instructions.txt in the dataset's
// results folder, as upstream.
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../atomic-write.js';
import { UserError } from '../errors.js';
import { ensembleFolders } from '../inference/ensemble.js';
import { modelFolder, modelFolderName, parseModelFolderName, type ModelIdentity } from '../model/model-folder.js';
import { loadDatasetJson } from '../planning/dataset-json.js';
import { labelManagerFrom } from '../planning/labels.js';
import { readPlansFile } from '../planning/plans-schema.js';
import { determinePostprocessing } from '../postprocessing/determine-postprocessing.js';
import { accumulateCvResults, crossvalFolderName, crossvalReferenceDir, foldsToString } from './accumulate-cv.js';
import { evaluateFolder, evaluationLabelsFrom } from './evaluate-folder.js';
import { parsePythonJson, type PyJsonValue, stringifyPythonJson } from './python-json.js';
import type { Summary } from './summary.js';

/** upstream dumb_trainer_config_plans_to_trained_models_dict: trainers × configurations × plans, in that nesting. */
export function trainedModelsOf(trainers: readonly string[], configurations: readonly string[], plans: readonly string[]): ModelIdentity[] {
  return trainers.flatMap((trainer) => configurations.flatMap((configuration) => plans.map((p) => ({ trainer, plans: p, configuration }))));
}

/** upstream get_ensemble_name: ensemble___<model 1 folder>___<model 2 folder>___<folds>. */
export function ensembleName(a: ModelIdentity, b: ModelIdentity, folds: readonly number[]): string {
  return `ensemble___${modelFolderName(a)}___${modelFolderName(b)}___${foldsToString(folds)}`;
}

/** The commands that make a fold's validation (with probabilities for ensembling), for error messages. */
export function validationCommand(dataset: string, m: ModelIdentity, fold: number, npz: boolean): string {
  return `nnunet train ${dataset} ${m.configuration} ${fold} --trainer ${m.trainer} -p ${m.plans}${npz ? ' --val --npz' : ''}`;
}

export interface FindBestOptions {
  /** Dataset name (DatasetXXX_Name). */
  datasetName: string;
  resultsDatasetDir: string;
  preprocessedDatasetDir: string;
  /** nnUNet_raw/DatasetXXX_Name: its labelsTr, when present, scores the single models as upstream. */
  rawDatasetDir?: string;
  models: readonly ModelIdentity[];
  folds: readonly number[];
  /** Default true (upstream: unless --disable_ensembling). */
  allowEnsembling?: boolean;
  numProcesses?: number;
  /** Default true; false keeps merged and ensembled predictions already there (upstream --no_overwrite). */
  overwrite?: boolean;
  echo?: (line: string) => void;
}

/** A scored model or ensemble: the folder of its cross-validation predictions and their foreground mean Dice. */
export interface Candidate {
  source: string;
  result: number;
}

const identitySchema = z.object({ configuration: z.string(), trainer: z.string(), plans_identifier: z.string() });

/** inference_information.json, upstream's return_dict of find_best_configuration. */
export const InferenceInformationSchema = z.object({
  folds: z.array(z.union([z.number().int(), z.string()])),
  dataset_name_or_id: z.union([z.string(), z.number()]),
  considered_models: z.array(z.object({ plans: z.string(), configuration: z.string(), trainer: z.string() })),
  ensembling_allowed: z.boolean(),
  all_results: z.record(z.string(), z.union([z.number(), z.nan()])),
  best_model_or_ensemble: z.object({
    result_on_crossval_pre_pp: z.union([z.number(), z.nan()]),
    result_on_crossval_post_pp: z.union([z.number(), z.nan()]),
    postprocessing_file: z.string(),
    some_plans_file: z.string(),
    selected_model_or_models: z.array(identitySchema).min(1),
  }),
});
export type InferenceInformation = z.infer<typeof InferenceInformationSchema>;

/** Reads an inference_information.json written by this code or by nnU-Net. */
export async function readInferenceInformation(file: string): Promise<InferenceInformation> {
  let value: unknown;
  try {
    value = parsePythonJson(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: cannot read (${(err as Error).message})`);
  }
  const parsed = InferenceInformationSchema.safeParse(value);
  if (!parsed.success) throw new UserError(`${file} is not an nnU-Net inference_information.json: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** upstream filter_available_models: configurations missing from their plans are skipped; a missing model folder is an error. */
async function availableModels(o: FindBestOptions, echo: (l: string) => void): Promise<ModelIdentity[]> {
  const valid: ModelIdentity[] = [];
  for (const m of o.models) {
    const plansFile = path.join(o.preprocessedDatasetDir, `${m.plans}.json`);
    const plans = await readPlansFile(plansFile);
    if (!(m.configuration in plans.configurations)) {
      echo(`Configuration ${m.configuration} not found in plans ${m.plans} (${plansFile}); skipped.`);
      continue;
    }
    const dir = modelFolder(o.resultsDatasetDir, m);
    if (!existsSync(dir)) {
      const how = o.folds.map((f) => `  ${validationCommand(o.datasetName, m, f, false)}${o.allowEnsembling === false ? '' : ' --npz'}`).join('\n');
      throw new UserError(`${modelFolderName(m)} has no results folder (${dir}); train all requested folds first (--npz to allow ensembling):\n${how}`);
    }
    valid.push(m);
  }
  if (valid.length === 0) throw new UserError(`none of the requested configurations is in the plans of ${o.datasetName}`);
  return valid;
}

/** Per model and fold, the validation .npz files; every fold that lacks them is named, with the command that makes them. */
async function probabilityFiles(o: FindBestOptions, models: readonly ModelIdentity[]): Promise<Map<string, Map<string, string>>> {
  const byModel = new Map<string, Map<string, string>>();
  const lacking: string[] = [];
  for (const m of models) {
    const files = new Map<string, string>();
    for (const f of o.folds) {
      const validation = path.join(modelFolder(o.resultsDatasetDir, m), `fold_${f}`, 'validation');
      const npz = existsSync(validation) ? (await readdir(validation)).filter((n) => n.endsWith('.npz') && !n.startsWith('.')) : [];
      if (npz.length === 0) {
        lacking.push(`  ${modelFolderName(m)} fold ${f}: ${validationCommand(o.datasetName, m, f, true)}`);
        continue;
      }
      for (const n of npz) {
        const caseId = n.slice(0, -4);
        if (files.has(caseId)) throw new UserError(`${modelFolderName(m)}: case ${caseId} is in the validation of more than one fold`);
        files.set(caseId, path.join(validation, caseId));
      }
    }
    byModel.set(modelFolderName(m), files);
  }
  if (lacking.length) {
    throw new UserError(
      `ensembling averages the softmax probabilities of each fold's validation, and these folds have none (.npz):\n${lacking.join('\n')}\n` +
        'run those commands (they redo only the final validation), or pass --disable_ensembling',
    );
  }
  return byModel;
}

/**
 * upstream ensemble_crossvalidations: for every case, the mean of the members' validation probabilities, written as a
 * label map into `outputDir` with plans.json and dataset.json of the first member.
 */
async function ensembleCrossvalidations(o: FindBestOptions, members: readonly ModelIdentity[], files: Map<string, Map<string, string>>, outputDir: string): Promise<void> {
  const perMember = members.map((m) => files.get(modelFolderName(m)) as Map<string, string>);
  const all = new Set(perMember.flatMap((p) => [...p.keys()]));
  const gaps = members.flatMap((m, i) => {
    const missing = [...all].filter((c) => !perMember[i].has(c));
    return missing.length ? [`${modelFolderName(m)} lacks ${missing.sort().join(', ')}`] : [];
  });
  if (gaps.length) throw new UserError(`cannot ensemble: the members' cross-validations hold different cases: ${gaps.join('; ')}`);
  await mkdir(outputDir, { recursive: true });
  const first = await loadDatasetJson(path.join(modelFolder(o.resultsDatasetDir, members[0]), 'dataset.json'));
  const todo = [...all].filter((c) => o.overwrite !== false || !existsSync(path.join(outputDir, c + first.file_ending))).sort();
  if (todo.length > 0) {
    // each member's folds seen as one prediction folder, so that nnunet ensemble's averaging does the work
    const staging = path.join(outputDir, '.members');
    await rm(staging, { recursive: true, force: true });
    try {
      const dirs = members.map((_, i) => path.join(staging, String(i)));
      for (const [i, m] of members.entries()) {
        await mkdir(dirs[i], { recursive: true });
        const modelDir = modelFolder(o.resultsDatasetDir, m);
        for (const name of ['dataset.json', 'plans.json']) await copyFile(path.join(modelDir, name), path.join(dirs[i], name));
        for (const c of todo) {
          const base = perMember[i].get(c) as string;
          for (const ext of ['.npz', '.json']) await link(base + ext, path.join(dirs[i], c + ext)).catch(() => copyFile(base + ext, path.join(dirs[i], c + ext)));
        }
      }
      await ensembleFolders(dirs, outputDir);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  const firstDir = modelFolder(o.resultsDatasetDir, members[0]);
  for (const name of ['dataset.json', 'plans.json']) await copyFile(path.join(firstDir, name), path.join(outputDir, name));
}

/** One upstream generate_inference_command line, for nnunet-ts. */
function predictCommand(dataset: string, m: ModelIdentity, folds: readonly (number | string)[], output: string, saveProbabilities: boolean): string {
  return `nnunet predict -d ${dataset} -i INPUT_FOLDER -o ${output} -f ${folds.join(' ')} -tr ${m.trainer} -c ${m.configuration} -p ${m.plans}${saveProbabilities ? ' --save-probabilities' : ''}`;
}

/** upstream print_inference_instructions: the commands that reproduce the winner on new images. */
export function inferenceInstructions(info: InferenceInformation, numProcesses: number): string {
  const lines: string[] = ['***Run inference like this:***', ''];
  const selected = info.best_model_or_ensemble.selected_model_or_models;
  const isEnsemble = selected.length > 1;
  if (isEnsemble) lines.push('An ensemble won! What a surprise! Run the following commands to run predictions with the ensemble members:', '');
  const outputs = selected.map((_, j) => (isEnsemble ? `OUTPUT_FOLDER_MODEL_${j + 1}` : 'OUTPUT_FOLDER'));
  selected.forEach((s, j) => lines.push(predictCommand(String(info.dataset_name_or_id), { trainer: s.trainer, plans: s.plans_identifier, configuration: s.configuration }, info.folds, outputs[j], isEnsemble)));
  if (isEnsemble) lines.push('', 'The run ensembling with:', '', `nnunet ensemble -i ${outputs.join(' ')} -o OUTPUT_FOLDER`);
  lines.push(
    '',
    '***Once inference is completed, run postprocessing like this:***',
    '',
    `nnunet apply-postprocessing -i OUTPUT_FOLDER -o OUTPUT_FOLDER_PP -pp_pkl_file ${info.best_model_or_ensemble.postprocessing_file} -np ${numProcesses} -plans_json ${info.best_model_or_ensemble.some_plans_file}`,
  );
  return lines.join('\n') + '\n';
}

/** The members of a candidate from its folder name (upstream convert_identifier_to_trainer_plans_config). */
function membersOf(key: string): ModelIdentity[] {
  const names = key.startsWith('ensemble___') ? key.split('___').slice(1, -1) : [key];
  return names.map((n) => {
    const id = parseModelFolderName(n);
    if (!id) throw new Error(`${n} is not a <trainer>__<plans>__<configuration> name`);
    return id;
  });
}

export async function findBestConfiguration(o: FindBestOptions): Promise<InferenceInformation> {
  const echo = o.echo ?? ((l: string) => console.log(l));
  const allowEnsembling = o.allowEnsembling ?? true;
  const numWorkers = o.numProcesses;
  const models = await availableModels(o, echo);
  const candidates = new Map<string, Candidate>();

  for (const m of models) {
    const dir = modelFolder(o.resultsDatasetDir, m);
    const merged = path.join(dir, crossvalFolderName(o.folds));
    const summary = await accumulateCvResults(dir, merged, o.folds, {
      referenceDir: crossvalReferenceDir(o.preprocessedDatasetDir, o.rawDatasetDir),
      numWorkers,
      overwrite: o.overwrite,
      trainHint: (f) => validationCommand(o.datasetName, m, Number(f), false),
    });
    candidates.set(modelFolderName(m), { source: merged, result: summary.foreground_mean.Dice });
  }

  if (allowEnsembling && models.length > 1) {
    const files = await probabilityFiles(o, models);
    const gt = path.join(o.preprocessedDatasetDir, 'gt_segmentations');
    for (let i = 0; i < models.length; i++) {
      for (let j = i + 1; j < models.length; j++) {
        const key = ensembleName(models[i], models[j], o.folds);
        const out = path.join(o.resultsDatasetDir, 'ensembles', key);
        echo(`ensembling ${modelFolderName(models[i])} and ${modelFolderName(models[j])}`);
        await ensembleCrossvalidations(o, [models[i], models[j]], files, out);
        const datasetJsonFile = path.join(modelFolder(o.resultsDatasetDir, models[i]), 'dataset.json');
        const datasetJson = await loadDatasetJson(datasetJsonFile);
        const summary: Summary = await evaluateFolder(gt, out, {
          ...evaluationLabelsFrom(labelManagerFrom(datasetJson, datasetJsonFile)),
          fileEnding: datasetJson.file_ending,
          outputFile: path.join(out, 'summary.json'),
          numWorkers,
          chill: true,
        });
        candidates.set(key, { source: out, result: summary.foreground_mean.Dice });
      }
    }
  }
  return finishSelection(o, models, candidates, allowEnsembling, echo);
}

/** Picks the winner among scored candidates, determines its postprocessing and writes the two files. */
export async function finishSelection(
  o: Pick<FindBestOptions, 'datasetName' | 'resultsDatasetDir' | 'preprocessedDatasetDir' | 'folds' | 'numProcesses'>,
  models: readonly ModelIdentity[],
  candidates: ReadonlyMap<string, Candidate>,
  allowEnsembling: boolean,
  echo: (line: string) => void,
): Promise<InferenceInformation> {
  // the first of the best: single models come before ensembles, so a tie goes to the simpler one
  let bestKey = '';
  let best = -Infinity;
  for (const [k, c] of candidates) {
    if (c.result > best) {
      best = c.result;
      bestKey = k;
    }
  }
  if (!bestKey) throw new UserError('no configuration has a finite cross-validation foreground Dice');
  echo('');
  echo('***All results:***');
  for (const [k, c] of candidates) echo(`${k}: ${c.result}`);
  echo(`\n*Best*: ${bestKey}: ${best}\n`);
  echo('***Determining postprocessing for best model/ensemble***');
  const source = (candidates.get(bestKey) as Candidate).source;
  const datasetJsonFile = path.join(source, 'dataset.json');
  const pp = await determinePostprocessing(source, path.join(o.preprocessedDatasetDir, 'gt_segmentations'), {
    datasetJson: await loadDatasetJson(datasetJsonFile),
    datasetJsonFile,
    numWorkers: o.numProcesses,
    echo,
  });
  const info: InferenceInformation = {
    folds: [...o.folds],
    dataset_name_or_id: o.datasetName,
    considered_models: models.map((m) => ({ plans: m.plans, configuration: m.configuration, trainer: m.trainer })),
    ensembling_allowed: allowEnsembling,
    all_results: Object.fromEntries([...candidates].map(([k, c]) => [k, c.result])),
    best_model_or_ensemble: {
      result_on_crossval_pre_pp: best,
      result_on_crossval_post_pp: pp.after.foreground_mean.Dice,
      postprocessing_file: path.resolve(source, 'postprocessing.pkl'),
      some_plans_file: path.resolve(source, 'plans.json'),
      selected_model_or_models: membersOf(bestKey).map((m) => ({ configuration: m.configuration, trainer: m.trainer, plans_identifier: m.plans })),
    },
  };
  await mkdir(o.resultsDatasetDir, { recursive: true });
  await writeFileAtomic(path.join(o.resultsDatasetDir, 'inference_information.json'), Buffer.from(stringifyPythonJson(info as unknown as PyJsonValue), 'utf8'));
  const text = inferenceInstructions(info, o.numProcesses ?? 8);
  await writeFileAtomic(path.join(o.resultsDatasetDir, 'inference_instructions.txt'), Buffer.from(text, 'utf8'));
  echo('');
  for (const line of text.trimEnd().split('\n')) echo(line);
  return info;
}
