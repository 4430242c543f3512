# %% [markdown]
# # 00 · Overview: from a 12-lead hospital ECG to a 1-lead wearable
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
# The teacher's outputs carry more information per record than a 0/1 label (how *sure*, which classes
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
# The embedded synthetic data set (notebook 01) has 15 conditions named with PTB-XL's SCP codes.
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
