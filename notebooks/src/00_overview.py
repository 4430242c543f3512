# %% [markdown]
# # 00 · Overview: from a 12-lead hospital ECG to a 1-lead wearable
#
# ## Learning goals
#
# - Say why a 1-lead wearable is cheap and what it cannot see that a 12-lead ECG sees.
# - Explain the cardiac dipole picture: every lead is a projection of one moving 3-D vector.
# - Define knowledge distillation: a 12-lead *teacher* trained first, a 1-lead *student* trained to
#   imitate it, and only the student deployed.
# - Find your way through the numbered notebooks of the course.
#
# ## Prerequisites
#
# None: this is the first notebook. Basic Python and a first idea of how a neural network is trained
# (a loss, gradients, an optimiser) are enough.
#
# ## The question
#
# **Why a 1-lead wearable?** A smartwatch or a chest patch records one lead, usually close to
# lead I (left arm minus right arm), all day, for almost nothing. A hospital 12-lead ECG needs ten
# electrodes, a technician and a cardiologist. If a small model could read the 1-lead signal almost
# as well as a large model reads the 12-lead one, daily cardiac monitoring would become cheap.
#
# **What does the 12-lead teacher know that lead I does not?** The heart's electrical activity is,
# to a good approximation, one moving 3-D vector (the *cardiac dipole*). Each lead is a projection of
# that vector onto one direction. Lead I looks at it from the side (left-right); the inferior leads
# (II, III, aVF) from below; the chest leads V1-V6 from the front. A condition that bends the vector
# only up-down (inferior myocardial infarction, left anterior fascicular block) or only front-back
# (anterior infarction) barely moves lead I. Rate and rhythm, on the other hand, are visible in every
# lead. So a 1-lead model is blind to some conditions and fine on others: that is the **gap**.
#
# **What is knowledge distillation (KD)?** Train the 12-lead *teacher* first. Then train the 1-lead
# *student* not only on the labels but also to imitate the teacher: its soft outputs (Hinton et al.
# 2015), its intermediate features, where it looks, how its representations relate to each other.
# The teacher's outputs carry more information per record than a binary label (how *sure*, which classes
# co-occur), and its features were shaped by leads the student never sees.
#
# The teacher is used only during training: at run time the wearable runs the student alone.

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %% [markdown]
# ## The conditions and where they show
#
# The embedded synthetic data set (notebook 01) names its conditions with PTB-XL's SCP codes.
# For each we note where a cardiologist looks and how plainly lead I shows it. The "hidden" ones are
# where we expect the student to fall short of the teacher, and where distillation has to work.

# %%
# NBVAL_CHECK_OUTPUT
import pandas as pd
from ecgkd_lite.data import CONDITIONS

table = pd.DataFrame([(c.code, c.name, c.superclass or "-", c.leads, c.lead_I) for c in CONDITIONS],
                     columns=["code", "condition", "PTB-XL superclass", "where to look", "lead I"])
print(table.to_string(index=False))
print("\nlead-I visibility counts:", table["lead I"].value_counts().to_dict())

# %%
from IPython.display import Markdown, display

display(Markdown(f"The synthetic data set has **{len(CONDITIONS)}** conditions; "
                 f"**{int((table['lead I'] == 'hidden').sum())}** of them are tagged `hidden` in lead I."))

# %% [markdown]
# ## Map of the notebooks
#
# | notebook | lesson |
# |---|---|
# | `00_overview` | this page |
# | `01_data` | the ECG, the 12 leads and the dipole; the synthetic generator; real PTB-XL beside it; the splits |
# | `02_teacher` | the high-cost 12-lead teacher; learning curves; what each lead contributes |
# | `03_student_baseline` | the low-cost 1-lead student without distillation; the gap per class; lead choice; 12-lead restoration from lead I |
# | `04_vanilla_kd` | soft targets and temperature for multi-label outputs; the classic KD baselines side by side |
# | `05`-`08` | LiteHeart: region-aware KD, cross-layer mutual information, semi-supervised training, restoration in the loop |
# | `09`-`11` | EVL-ECG: cross-attention alignment, optimal transport, geometric relations |
# | `12`-`13` | benchmark and ablation tables; t-SNE/UMAP, Grad-CAM, per-disease AUC violins, efficiency |
#
# Each notebook runs on its own: what it needs from an earlier one (a trained teacher, benchmark
# results) is loaded from the cache or rebuilt. The cell below lists the notebooks in this checkout.

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.suite import select_notebooks

for path in select_notebooks():
    print(path.name)

# %% [markdown]
# ## Takeaways
#
# - A wearable records one lead, near lead I; a hospital ECG records twelve. Each lead is a
#   projection of the same cardiac dipole, so the gap between them is about *directions*, not data
#   volume.
# - Rhythm and rate show in every lead; conditions that move the dipole up-down or front-back
#   (inferior and anterior infarction, LAFB) barely show in lead I.
# - Knowledge distillation trains the 1-lead student to imitate a 12-lead teacher; the teacher is
#   needed only during training.
#
# ## Exercises
#
# - **Your own wearable.** In the conditions table, which conditions would a chest patch recording
#   a lead close to V2 see well, and which would it miss? Write down your guess; notebook 03 trains
#   such a student.
# - **Count the gap.** Change the Markdown cell after the conditions table so that it also lists
#   the codes of the `hidden` conditions (use `table.loc[table["lead I"] == "hidden", "code"]`).
#
# Solutions: `notebooks/solutions/00_overview.md`.
