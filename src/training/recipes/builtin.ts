// nnU-Net's common trainer variants under their upstream names (nnunetv2/training/nnUNetTrainer/variants/).
import { type TrainerRecipe, defineRecipe, nnUNetTrainer } from './recipe.js';

// training_length/nnUNetTrainer_Xepochs.py
const EPOCH_VARIANTS = [1, 5, 10, 20, 50, 100, 250, 300, 500, 750, 2000, 4000, 8000];

export const builtinRecipes: TrainerRecipe[] = [
  nnUNetTrainer,
  ...EPOCH_VARIANTS.map((n) => defineRecipe({ name: n === 1 ? 'nnUNetTrainer_1epoch' : `nnUNetTrainer_${n}epochs`, description: `nnUNetTrainer for ${n} epoch${n === 1 ? '' : 's'}`, numEpochs: n })),
  // data_augmentation/nnUNetTrainerNoMirroring.py
  defineRecipe({ name: 'nnUNetTrainerNoMirroring', description: 'no mirroring, neither in training nor at test time', mirrorAxes: () => null }),
  defineRecipe({
    name: 'nnUNetTrainer_onlyMirror01',
    description: 'mirrors only along spatial axes 0 and 1 (3D) or 0 (2D), in training and at test time',
    mirrorAxes: (_defaults, patchSize) => (patchSize.length === 2 ? [0] : [0, 1]),
  }),
  // data_augmentation/nnUNetTrainerNoDA.py: validation transforms for training, no test-time mirroring
  defineRecipe({ name: 'nnUNetTrainerNoDA', description: 'no data augmentation and no test-time mirroring', augment: false, mirrorAxes: () => null }),
  // loss/nnUNetTrainerDiceLoss.py
  defineRecipe({ name: 'nnUNetTrainerDiceCELoss_noSmooth', description: 'Dice+CE with the Dice smoothing term set to 0', diceSmooth: 0 }),
  // lr_schedule/nnUNetTrainer_warmup.py: LR rises linearly over 50 epochs, then poly over the remaining 950
  defineRecipe({ name: 'nnUNetTrainer_warmup', description: 'fine-tuning: 50 warm-up epochs with a linearly rising LR, then poly decay', warmupEpochs: 50 }),
];
