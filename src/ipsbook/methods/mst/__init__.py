"""Paper C (Nguyen et al., arXiv 2412.12189): multi-surrogate-teacher representation alignment.

:mod:`.losses` holds the constraints of Expert Training and Expert Distilling (J_Sim, J_MI,
J_FI, J_MAE, WGAN-GP) and their combination J_overall.
"""

from .losses import (
    ALPHA,
    DEFAULT_LAMBDAS,
    JSDMIEstimator,
    angular_similarity_loss,
    combine_losses,
    expert_distilling_terms,
    functional_information,
    functional_integrity_loss,
    gradient_penalty,
    jsd_mi_lower_bound,
    mae_loss,
    mi_loss,
    normalise_lambdas,
    power_iteration,
    spectral_norm,
    top_eigenvalue,
    transmitting_matrix,
    wgan_critic_loss,
    wgan_generator_loss,
)

__all__ = [
    "ALPHA",
    "DEFAULT_LAMBDAS",
    "JSDMIEstimator",
    "angular_similarity_loss",
    "combine_losses",
    "expert_distilling_terms",
    "functional_information",
    "functional_integrity_loss",
    "gradient_penalty",
    "jsd_mi_lower_bound",
    "mae_loss",
    "mi_loss",
    "normalise_lambdas",
    "power_iteration",
    "spectral_norm",
    "top_eigenvalue",
    "transmitting_matrix",
    "wgan_critic_loss",
    "wgan_generator_loss",
]

# Training phases: stand-alone (.train), Expert Training (.teachers), Expert Distilling (.distill)
from .distill import (
    ABLATIONS,
    DistillOptions,
    constraint_set,
    distill,
    distilling_loss,
    distilling_terms,
)
from .teachers import (
    Critic,
    SurrogateGenerator,
    Teacher,
    TeacherConfig,
    teacher_quality,
    train_teacher,
)
from .train import (
    PAPER_SCHEDULE,
    Checkpoint,
    TrainConfig,
    TrainHistory,
    evaluate,
    model_inputs,
    predict,
    standardise_positions,
    summary,
    train_specialised,
)

__all__ += [
    "ABLATIONS",
    "PAPER_SCHEDULE",
    "Checkpoint",
    "Critic",
    "DistillOptions",
    "SurrogateGenerator",
    "Teacher",
    "TeacherConfig",
    "TrainConfig",
    "TrainHistory",
    "constraint_set",
    "distill",
    "distilling_loss",
    "distilling_terms",
    "evaluate",
    "model_inputs",
    "predict",
    "standardise_positions",
    "summary",
    "teacher_quality",
    "train_specialised",
    "train_teacher",
]

# Table 1's transfer-learning baselines: (*) sequential, (**) collective (Klus et al.)
from .transfer import (
    TransferHistory,
    TransferPhase,
    collective_transfer,
    sequential_transfer,
    split_parameters,
)

__all__ += [
    "TransferHistory",
    "TransferPhase",
    "collective_transfer",
    "sequential_transfer",
    "split_parameters",
]

# The chapter's experiments: Tables 1-4, Fig. 2 and the kNN rows as tidy frames (.experiment)
from .experiment import Results, Settings, estimate, plan, run_all, summarise

__all__ += ["Results", "Settings", "estimate", "plan", "run_all", "summarise"]
