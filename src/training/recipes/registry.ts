// `-tr NAME`: the built-in recipes, then user recipes from JavaScript (or, under tsx, TypeScript) modules in the
// folders of `nnUNet_extTrainer` (separated by the platform's path delimiter, as upstream's os.pathsep).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../../errors.js';
import { builtinRecipes } from './builtin.js';
import { type RecipeOverrides, type TrainerRecipe, defineRecipe, nnUNetTrainer } from './recipe.js';

const MODULE_FILE = /\.(m?js|m?ts)$/;
const TS_FILE = /\.m?ts$/;

async function moduleFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => null);
  if (!entries) throw new UserError(`nnUNet_extTrainer: ${folder} is not a readable folder`);
  return entries
    .filter((e) => e.isFile() && MODULE_FILE.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath ?? folder, e.name))
    .sort();
}

function looksLikeRecipe(value: unknown): value is RecipeOverrides & { base?: string } {
  return typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string';
}

/**
 * Every recipe a user module exports: objects with a `name` (a full recipe from defineRecipe, or just the fields that
 * differ plus an optional `base` recipe name), alone or in arrays.
 */
async function recipesOfModule(file: string, resolveBase: (name: string) => Promise<TrainerRecipe>): Promise<TrainerRecipe[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    if (TS_FILE.test(file) && (err as { code?: string }).code === 'ERR_UNKNOWN_FILE_EXTENSION') return []; // plain node: .js only
    throw new UserError(`nnUNet_extTrainer: cannot load ${file}: ${(err as Error).message}`);
  }
  const found: TrainerRecipe[] = [];
  for (const value of Object.values(mod).flatMap((v) => (Array.isArray(v) ? v : [v]))) {
    if (!looksLikeRecipe(value)) continue;
    const { base, ...overrides } = value;
    found.push(defineRecipe(overrides, base ? await resolveBase(base) : nnUNetTrainer));
  }
  return found;
}

export function extTrainerFolders(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.nnUNet_extTrainer ?? '').split(path.delimiter).filter((f) => f.length > 0);
}

/** The recipe for `-tr NAME`; an unknown name lists every known one. */
export async function resolveRecipe(name: string, env: NodeJS.ProcessEnv = process.env): Promise<TrainerRecipe> {
  const builtin = builtinRecipes.find((r) => r.name === name);
  if (builtin) return builtin;
  const known = builtinRecipes.map((r) => r.name);
  for (const folder of extTrainerFolders(env)) {
    for (const file of await moduleFiles(folder)) {
      const recipes = await recipesOfModule(file, (base) => resolveRecipe(base, env));
      known.push(...recipes.map((r) => r.name));
      const match = recipes.find((r) => r.name === name);
      if (match) return match;
    }
  }
  throw new UserError(`unknown trainer '${name}' (-tr). Known trainers: ${known.join(', ')}${extTrainerFolders(env).length ? '' : '. Add your own with nnUNet_extTrainer=/folder/of/recipe/modules'}`);
}

export { builtinRecipes };
