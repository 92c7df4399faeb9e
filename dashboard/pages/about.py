"""About page: how the models were trained and evaluated, their limits, and the data licence."""
import dash
from dash import dcc, html

dash.register_page(__name__, path="/about", name="About", order=3, title="About · Heartbeat classifier")

TEXT = """
## How the models were trained

Every beat is one row of 187 samples of one ECG lead, scaled to \\[0, 1\\]: it starts at the beat's
R peak and runs for about 1.2 times the R-R interval, then is zero-padded, as in the Kaggle CSVs.
So a row carries some rhythm too: where it ends, and where the next R peak falls inside it. Four models
are trained by this project's pipeline (`python -m pipeline train`) with fixed seeds, and saved with a
manifest of file hashes and library versions that the dashboard checks before it loads anything:

* **Logistic Regression**: a standard scaler and a class-balanced logistic regression, saved as one
  pipeline, so every upload is scaled with the training data's statistics. A single uploaded beat gets
  the same prediction it would get inside a batch.
* **Binary XGBoost**: normal (N) against abnormal (S, V, F, Q), on the samples plus the slopes of the
  first 40 samples (333 ms: the QRS complex and the start of the ST segment) and eight rhythm features read off the row (segment length,
  position and height of the next R peak, ...), with SMOTE
  oversampling applied inside the training pipeline only, never to test beats.
* **Multi-class XGBoost**: which abnormal class (S, V, F or Q), trained on abnormal beats with the same
  features, SMOTE the same way.
* **The cascade**: beats the binary model calls abnormal go on to the multi-class model. Its decision
  threshold was chosen by cross-validation on training data, never on the test set.
* **The rhythm-aware cascade** (the Recording page): the same two stages, trained on the 22 DS1 records
  with each beat's R-R intervals and irregularity relative to the patient's own rhythm and its shape
  against the patient's median beat, instead of the row's samples. Its features, settings and threshold
  were chosen by cross-validation on DS1 with one record held out at a time.

## How they were evaluated

* **Intra-patient**: beats are split 80/20 at random, as in the Kaggle version of the data. Beats of
  the same person, often nearly identical, land on both sides, so these figures are optimistic.
* **Inter-patient**: the de Chazal et al. (2004) split trains on 22 records (DS1) and tests on 22
  other people (DS2). This is how a model meets a patient it has never seen, and its figures are much
  lower: heartbeat shapes differ more between people than between the classes within one person, and
  S beats in particular look like normal beats that come early, which one row shows only in part.

Accuracy alone misleads here: about 83% of beats are N, so a model that calls everything normal is 83%
accurate. Look at per-class recall (AAMI's sensitivity, Se), precision (positive predictivity, +P) and
macro-F1 on the Models page.

## Limitations

This is a **research and teaching tool, not a medical device**. It has not been validated clinically and
must not be used to diagnose or treat anyone. The Predict page classifies single, already segmented and
normalised beats: of the rhythm it knows only what one row shows (the interval to the next beat), nothing
of the beats before it, the patient or the other lead. Its uploads must be in the same format as the
training beats (187 samples in \\[0, 1\\]); values outside that range are refused with a message saying
so, because the models have never seen such input. The Recording page finds the beats of a whole
recording and reads their rhythm, but on people it has not seen it still misses most supraventricular
beats (see the Models page), and it was trained on 22 half-hour recordings from the 1970s, none of them
paced: paced beats come out as N or V. A lead of noise also yields "beats": the page warns when the beats
found do not look alike. A lead recorded upside down (electrodes swapped) loses beats in some patients:
turn it with the page's switch. The score that comes with each class is not a probability: the models
learnt from classes balanced by oversampling, and on new patients a confident S or F call is more often
wrong than right (the Models page says how often each class's calls were right at each score).

## Data and licence

The MIT-BIH Arrhythmia Database (Moody GB, Mark RG. *The impact of the MIT-BIH Arrhythmia Database.*
IEEE Eng in Med and Biol 20(3):45-50, 2001) is published by PhysioNet (Goldberger AL et al.
*PhysioBank, PhysioToolkit, and PhysioNet.* Circulation 101(23):e215-e220, 2000) under the
[Open Data Commons Attribution License v1.0](https://physionet.org/content/mitdb/view-license/1.0.0/).
The Kaggle heartbeat CSVs (Kachuee M, Fazeli S, Sarrafzadeh M. *ECG Heartbeat Classification: A Deep
Transferable Representation.* ICHI 2018) are derived from it. The sample file offered on the Predict
page is 50 beats, 10 per class, drawn from this project's intra-patient test split of the MIT-BIH records.
"""

layout = html.Div(dcc.Markdown(TEXT, link_target="_blank", className="about"), id="about-page")
