"""The synthetic cohort: students, classrooms, teachers and classroom observations drawn from
the population model (config/population_model.yaml) in the schema of the codebook.

Counts follow the report's design exactly for the default size (892 students); another size
scales every student count proportionally, and a larger one the classrooms too (teachers and
their ratings keep the study's counts; a teacher then teaches several of the classrooms). Item responses are ordinal
1-4, cut from continuous responses to the latent constructs (the latent-response model of
lwo.population.item_parameters), so the measurement models have real work to do. The mess of
a real survey is part of the model: race goes with school, classmates share random effects,
answers pile up at the ceiling or floor where real surveys show it, and some answers are
blank (missing at random). Deterministic for a given seed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.population import (COVARIATES, GRADE_LEVELS, GROUPS, SCHOOLS, PopulationModel,
                            answer_thresholds, build_population, item_parameters, population_group,
                            site_race_counts)

RACES_NON_BLACK = ("White", "Hispanic", "Asian", "Multiracial", "Other")


def _apportion(total: int, weights) -> np.ndarray:
    """Split `total` into integer parts proportional to `weights` (largest remainder)."""
    w = np.asarray(weights, float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out), kind="stable")[: total - out.sum()]:
        out[i] += 1
    return out


def _ordinal(latent: np.ndarray, thresholds) -> np.ndarray:
    return 1 + np.searchsorted(np.asarray(thresholds), latent, side="right")


def _school_counts(design: dict, n_students: int) -> pd.DataFrame:
    keys = ["students", "math_surveys", "ela_surveys", "no_subject_surveys"]
    rows = pd.DataFrame([{k: design["schools"][s][k] for k in keys} for s in SCHOOLS], index=SCHOOLS)
    if n_students == design["students"]:
        return rows
    # scale every count with the cohort size, keeping totals proportional
    scaled = pd.DataFrame(index=SCHOOLS)
    for k in keys:
        total = int(round(rows[k].sum() * n_students / design["students"]))
        scaled[k] = _apportion(total, rows[k].to_numpy())
    return scaled


class CohortGenerator:
    def __init__(self, model: dict, codebook: Codebook, population: PopulationModel | None = None):
        self.model = model
        self.codebook = codebook
        self.pop = population or build_population(model, codebook)

    # ---------------------------------------------------------------------------------------
    def students(self, rng: np.random.Generator, n_students: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Student records + survey answers, classrooms, and the diagnostic latents."""
        design, cov = self.model["design"], self.model["covariates"]
        counts = _school_counts(design, n_students)
        scale = n_students / design["students"]

        # classrooms: the observed classrooms of each school (Ex 7); students sit in them
        classrooms = []
        for s in SCHOOLS:
            d = design["schools"][s]
            for subject, n in (("math", d["math_classrooms"]), ("ela", d["ela_classrooms"])):
                # more classrooms for a larger cohort (classmates share random effects); never fewer
                for j in range(1, max(n, int(round(n * scale))) + 1):
                    classrooms.append({"classroom_id": f"S{s}-{subject.upper()}{j}", "school_id": s, "subject": subject})
        classrooms = pd.DataFrame(classrooms)

        rows = []
        for s in SCHOOLS:
            c = counts.loc[s]
            unsurveyed = c.students - c.math_surveys - c.ela_surveys - c.no_subject_surveys
            kinds = (["math"] * c.math_surveys + ["ela"] * c.ela_surveys
                     + ["unrecorded"] * c.no_subject_surveys + ["unsurveyed"] * unsurveyed)
            for kind in kinds:
                rows.append({"school_id": s, "kind": kind})
        st = pd.DataFrame(rows)
        n = len(st)
        st["student_id"] = [f"ST{i + 1:06d}" for i in rng.permutation(n)]
        # true subject of each student's surveyed class (recorded only for 'math'/'ela')
        true_subject = st["kind"].where(st["kind"].isin(["math", "ela"]))
        guess = rng.random(n) < 0.5
        true_subject = true_subject.fillna(pd.Series(np.where(guess, "ela", "math"), index=st.index))
        st["subject"] = st["kind"].where(st["kind"].isin(["math", "ela"]))
        st["surveyed"] = (st["kind"] != "unsurveyed").astype(int)

        # classroom: students of a school and subject spread evenly over its classrooms
        st["classroom_id"] = ""
        for (s, subj), idx in st.groupby([st["school_id"], true_subject]).groups.items():
            ids = classrooms.query("school_id == @s and subject == @subj")["classroom_id"].to_numpy()
            order = rng.permutation(len(idx))
            st.loc[idx[order], "classroom_id"] = ids[np.arange(len(idx)) % len(ids)]

        # race: self-identified on the survey; exactly the published share of Black students,
        # spread over the sites as their compositions say (Exhibit 4)
        st["race"] = pd.Series(pd.NA, index=st.index, dtype="object")
        surveyed_per_school = st[st["surveyed"] == 1].groupby("school_id").size().reindex(SCHOOLS, fill_value=0)
        expected = site_race_counts(design, surveyed_per_school.to_numpy())
        n_black = int(round(design["share_black_among_surveyed"] * surveyed_per_school.sum()))
        black = _apportion(n_black, expected["Black"])
        nb = design["race_shares_non_black"]
        others = [r for r in RACES_NON_BLACK if r != "White"]
        for k, s in enumerate(SCHOOLS):
            rest = int(surveyed_per_school[s] - black[k])
            white = int(round(rest * expected["White"][k] / (expected["White"][k] + expected["Other"][k])))
            races = ["Black"] * int(black[k]) + ["White"] * white
            for race, m in zip(others, _apportion(rest - white, [nb[r] for r in others])):
                races += [race] * int(m)
            idx = st.index[(st["surveyed"] == 1) & (st["school_id"] == s)]
            st.loc[idx, "race"] = np.array(races, dtype=object)[rng.permutation(len(idx))]
        # students without a survey have no self-identified race; the latent model still needs a
        # group, drawn from their site's composition
        latent_race = st["race"].copy()
        for k, s in enumerate(SCHOOLS):
            missing = latent_race.isna() & (st["school_id"] == s)
            p = np.array([expected[g][k] for g in GROUPS])
            latent_race[missing] = rng.choice(list(GROUPS), size=int(missing.sum()), p=p / p.sum())
        group = latent_race.map(population_group)

        st["gender"] = np.where(rng.random(n) < cov["female"], "female", "male")
        p_grade = [cov["grade_level"][g] for g in GRADE_LEVELS]
        st["grade_level"] = rng.choice(GRADE_LEVELS, size=n, p=p_grade)
        st["ell"] = (rng.random(n) < cov["ell"]).astype(int)
        st["special_education"] = (rng.random(n) < cov["special_education"]).astype(int)
        prior_z = rng.standard_normal(n)

        x = np.zeros((n, len(COVARIATES)))
        for s in (2, 3, 4):
            x[:, COVARIATES.index(f"school_{s}")] = st["school_id"] == s
        x[:, COVARIATES.index("ela")] = true_subject == "ela"
        for g in (10, 11, 12):
            x[:, COVARIATES.index(f"grade_{g}")] = st["grade_level"] == g
        x[:, COVARIATES.index("female")] = st["gender"] == "female"
        x[:, COVARIATES.index("ell")] = st["ell"]
        x[:, COVARIATES.index("special_education")] = st["special_education"]
        x[:, COVARIATES.index("prior_grade")] = prior_z

        eta = self._draw_latents(rng, x, group.to_numpy(), st["classroom_id"].to_numpy())
        latents = pd.DataFrame(eta, columns=self.pop.latents)

        self._grades(st, latents, prior_z, cov)
        self._survey_items(rng, st, latents, group.to_numpy())
        self._nonresponse(rng, st, prior_z)
        self._collaboration_items(rng, st, true_subject)
        self._focus_groups(rng, st, scale)

        diag = pd.concat([st[["student_id", "school_id", "classroom_id"]].reset_index(drop=True),
                          pd.DataFrame({"population_group": group.to_numpy(), "ela": x[:, COVARIATES.index("ela")]}),
                          pd.DataFrame(x[:, :-1], columns=COVARIATES[:-1]).drop(columns="ela"),
                          pd.DataFrame({"prior_grade_latent": prior_z}),
                          latents.add_suffix("_latent")], axis=1)
        order = self.codebook.student_columns()
        st = st[order].sort_values("student_id").reset_index(drop=True)
        diag = diag.sort_values("student_id").reset_index(drop=True)
        return st, classrooms, diag

    def classroom_shares(self) -> np.ndarray:
        """Share of each latent's disturbance variance common to a classroom's students."""
        st, latents = self.model["structural"], self.pop.latents
        shares = np.zeros(len(latents))
        shares[latents.index("hqc")] = st["hqc"]["classroom_share_of_variance"]
        for key, share in st.get("classroom_random_effects", {}).items():
            names = self.codebook.constructs_in_block(key) or [key]
            for name in names:
                if name not in latents:
                    raise ValueError(f"population_model.yaml: structural.classroom_random_effects.{key} "
                                     "is neither a block of the codebook nor a latent of the model")
                shares[latents.index(name)] = share
        # equal shares wherever disturbances correlate, or the draw would change their covariance
        unequal = (self.pop.Psi != 0) & ~np.isclose(shares[:, None], shares[None, :])
        if unequal.any():
            i, j = np.argwhere(unequal)[0]
            raise ValueError(f"population_model.yaml: structural.classroom_random_effects gives {latents[i]} and "
                             f"{latents[j]}, whose disturbances correlate, different shares; give their block one share")
        return shares

    def _draw_latents(self, rng, x, group, classroom) -> np.ndarray:
        pop = self.pop
        k = len(pop.latents)
        zeta = rng.multivariate_normal(np.zeros(k), pop.Psi, size=len(x), method="cholesky")
        # Classmates share part of each disturbance: one draw of the whole disturbance vector per
        # classroom, mixed in with each latent's share. Shares are equal within a block of
        # correlated disturbances, so Var(zeta) stays Psi and the population moments hold.
        d = np.sqrt(self.classroom_shares())
        ids, inverse = np.unique(classroom, return_inverse=True)
        u = rng.multivariate_normal(np.zeros(k), pop.Psi, size=len(ids), method="cholesky")[inverse]
        zeta = u * d + zeta * np.sqrt(1 - d ** 2)
        eta = np.empty((len(x), k))
        for g in GROUPS:
            rows = group == g
            A = np.linalg.inv(np.eye(k) - pop.B[g])
            eta[rows] = (x[rows] @ pop.Gamma.T + pop.alpha[g] + zeta[rows]) @ A.T
        return eta

    def _standardized(self, latents: pd.DataFrame, name: str) -> np.ndarray:
        mu, cov = self.pop.moments("all")
        i = self.pop.index(name)
        return (latents[name].to_numpy() - mu[i]) / np.sqrt(cov[i, i])

    def _grades(self, st, latents, prior_z, cov):
        pg, cg = cov["prior_grade"], cov["current_grade"]
        # bounded percent grades; the clip touches well under 1% of students and is documented
        st["prior_grade"] = np.clip(np.round(pg["mean"] + pg["sd"] * prior_z, 1), 0, 100)
        st["current_grade"] = np.clip(np.round(cg["mean"] + cg["sd"] * self._standardized(latents, "current_grade"), 1), 0, 100)
        ab = cov["absences"]
        st["absences"] = np.clip(np.round(np.exp(ab["log_mean"] + ab["log_sd"] * self._standardized(latents, "absences"))), 0, 180).astype(int)

    def _survey_items(self, rng, st, latents, group):
        """Answers from the latent-response model (lwo.population.item_parameters)."""
        params = item_parameters(self.model, self.codebook, self.pop).set_index(["item", "group"])
        taus = [c for c in params.columns if c.startswith("tau")]
        surveyed = st["surveyed"].to_numpy() == 1
        for construct in self.codebook.student_constructs:
            z = self._standardized(latents, construct)
            for item in self.codebook.items(construct):
                p = params.loc[item.id].loc[group]
                noise = rng.standard_normal(len(z))
                ystar = (p["loading"].to_numpy() * z + p["intercept"].to_numpy()
                         + np.sqrt(p["residual_variance"].to_numpy()) * noise)
                # thresholds are the same in every group (a construct's), so one cut serves all
                resp = _ordinal(ystar, params.loc[item.id, taus].iloc[0].to_numpy()).astype(float)
                resp[~surveyed] = np.nan
                st[item.id] = pd.array(resp, dtype="Int64")

    def _nonresponse(self, rng, st, prior_z):
        """Blank construct items, missing at random given prior grade and school (parameters and
        mechanism: population_model.yaml, `nonresponse`)."""
        nr = self.model.get("nonresponse") or {}
        rate = float(nr.get("item_rate", 0.0))
        if rate <= 0:
            return
        surveyed = st["surveyed"].to_numpy() == 1
        items = [i.id for i in self.codebook.all_items()]
        school = st["school_id"].map(lambda s: nr.get("school_log_odds", {}).get(s, 0.0)).to_numpy(float)
        base = (nr.get("prior_grade_log_odds", 0.0) * prior_z + school
                + nr.get("student_propensity_sd", 0.0) * rng.standard_normal(len(st)))[surveyed]
        # intercept: the expected share of blanks among the surveyed equals the stated rate
        lo, hi = -20.0, 20.0
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if np.mean(1 / (1 + np.exp(-(mid + base)))) < rate else (lo, mid)
        p = 1 / (1 + np.exp(-((lo + hi) / 2 + base)))
        blank = rng.random((len(p), len(items))) < p[:, None]
        rows = np.flatnonzero(surveyed)
        for j, item in enumerate(items):
            st.loc[st.index[rows[blank[:, j]]], item] = pd.NA

    def _collaboration_items(self, rng, st, true_subject):
        col = self.model["collaboration"]
        surveyed = st["surveyed"].to_numpy() == 1
        cats = self.codebook.student_collaboration_items["collab_frequency"]["categories"]
        cuts = _cuts_from_probabilities(col["student_frequency_probabilities"], col["classroom_frequency_sd"])
        ids, inverse = np.unique(st["classroom_id"], return_inverse=True)
        level = col["classroom_frequency_sd"] * rng.standard_normal(len(ids))[inverse] + rng.standard_normal(len(st))
        freq = np.array(cats, dtype=object)[_ordinal(level, cuts) - 1]
        st["collab_frequency"] = np.where(surveyed, freq, None)
        length_cats = self.codebook.student_collaboration_items["collab_length"]["categories"]
        length = np.empty(len(st), dtype=object)
        for subj in ("math", "ela"):
            rows = (true_subject == subj).to_numpy()
            length[rows] = rng.choice(length_cats, size=int(rows.sum()), p=col["length_probabilities"][subj])
        st["collab_length"] = np.where(surveyed, length, None)

    def _focus_groups(self, rng, st, scale):
        fg = self.model["design"]["focus_groups"]
        st["focus_group"] = "none"
        for kind, groups, students in (("all-Black", fg["all_black_groups"], fg["all_black_students"]),
                                       ("mixed-race", fg["mixed_groups"], fg["mixed_students"])):
            sizes = _apportion(int(round(students * scale)), [1] * groups)
            for school, size in zip(SCHOOLS, sizes):
                pool = st.index[(st["school_id"] == school) & (st["surveyed"] == 1) & (st["focus_group"] == "none")
                                & ((st["race"] == "Black") if kind == "all-Black" else True)]
                st.loc[rng.choice(pool, size=int(size), replace=False), "focus_group"] = kind

    # ---------------------------------------------------------------------------------------
    def teachers(self, rng, classrooms: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        design, tm = self.model["design"], self.model["teachers"]
        rows = []
        for s in SCHOOLS:
            d = design["schools"][s]
            other = d["teachers"] - d["math_teachers"] - d["ela_teachers"]
            for subject, k, interviewed in (("math", d["math_teachers"], d["math_interviewed"]),
                                            ("ela", d["ela_teachers"], d["ela_interviewed"]),
                                            ("other", other, 0)):
                for j in range(k):
                    rows.append({"school_id": s, "subject": subject, "interviewed": int(j < interviewed),
                                 "observed": int(subject != "other" and j < d[f"{subject}_classrooms"])})
        t = pd.DataFrame(rows)
        t["teacher_id"] = [f"T{i + 1:03d}" for i in range(len(t))]
        classrooms = classrooms.copy()
        classrooms["teacher_id"] = ""
        for (s, subj), idx in classrooms.groupby(["school_id", "subject"]).groups.items():
            ids = t.query("school_id == @s and subject == @subj and observed == 1")["teacher_id"].to_numpy()
            classrooms.loc[idx, "teacher_id"] = ids[np.arange(len(idx)) % len(ids)]

        cb = self.codebook
        ela = (t["subject"] == "ela").to_numpy()
        math = (t["subject"] == "math").to_numpy()
        general = rng.standard_normal(len(t))
        thresholds = answer_thresholds(self.model["measurement"]["answer_shares"])

        def rate(mean, loading=0.6):
            ystar = mean + loading * general + np.sqrt(1 - loading ** 2) * rng.standard_normal(len(t))
            return _ordinal(ystar, thresholds)

        for scale_name, spec in cb.teacher_scales.items():
            diff = tm["quality_ela_minus_math"][scale_name]
            for item in spec["items"]:
                t[item] = rate(0.3 + diff * (ela.astype(float) - 0.5))
        for item in cb.teacher_rating_items["benefits"]["items"]:
            t[item] = rate(0.6 + tm["benefits_ela_minus_math"] * (ela.astype(float) - 0.5))
        for item in cb.teacher_rating_items["challenges"]["items"]:
            m = tm["challenge_means"][item] + (tm["content_math_minus_ela"] * (math.astype(float) - 0.5)
                                                if item == "t_chal_content" else 0.0)
            t[item] = rate(m, loading=0.3)
        for group in ("leader_support_collaboration", "leader_support_personalization"):
            for item in cb.teacher_rating_items[group]["items"]:
                bonus = 0.5 if item.endswith("_priority") else 0.0   # Ex 43-44 text: priority rated highest
                t[item] = rate(0.3 + bonus + tm["leader_support_ela_minus_math"] * (ela.astype(float) - 0.5))
        cats = cb.teacher_collaboration_items["t_collab_frequency"]["categories"]
        t["t_collab_frequency"] = rng.choice(cats, size=len(t), p=tm["frequency_probabilities"])
        return t[cb.teacher_columns()], classrooms[list(cb.record_columns("classrooms"))]

    # ---------------------------------------------------------------------------------------
    def observations(self, rng, classrooms: pd.DataFrame) -> pd.DataFrame:
        design, om = self.model["design"], self.model["observations"]
        segments = design["observation_segments_per_classroom"]
        rows = []
        for s in SCHOOLS:
            rooms = classrooms[classrooms["school_id"] == s]
            with_collab = set(rng.choice(rooms["classroom_id"].to_numpy(),
                                         size=design["schools"][s]["classrooms_with_collaboration"], replace=False))
            for room in rooms.itertuples():
                effect = 0.3 * rng.standard_normal()
                n_collab = design["collaborative_segments_when_seen"] if room.classroom_id in with_collab else 0
                for j in range(segments):
                    rows.append({"classroom_id": room.classroom_id, "segment_id": f"{room.classroom_id}-{j + 1}",
                                 "segment_type": "collaborative" if j < n_collab else "other",
                                 "pre_rating": float(np.clip(np.round(om["item_mean"] + effect + 0.2 * rng.standard_normal(), 2), 1, 4)),
                                 "_effect": effect, "_math": room.subject == "math"})
        obs = pd.DataFrame(rows)
        collab = (obs["segment_type"] == "collaborative").to_numpy()
        for item, spec in self.codebook.observation_items.items():
            area = spec["area"]
            mean = (om["item_mean"] + om["area_shift"].get(area, 0.0) + obs["_effect"].to_numpy()
                    + om["collaborative_minus_other"].get(item, 0.0) * collab
                    + om["math_minus_ela"].get(area, 0.0) * obs["_math"].to_numpy())
            obs[item] = np.clip(np.round(mean + om["item_sd"] * rng.standard_normal(len(obs))), 1, 4).astype(int)
        return obs[self.codebook.observation_columns()]


def _cuts_from_probabilities(probs, between_sd) -> np.ndarray:
    """Thresholds on a latent N(0, 1 + between_sd**2) giving the category probabilities."""
    return answer_thresholds(probs) * np.sqrt(1 + between_sd ** 2)


def generate_cohort(model: dict, codebook: Codebook, seed: int, n_students: int | None = None,
                    population: PopulationModel | None = None) -> dict[str, pd.DataFrame]:
    """All tables of a synthetic cohort: students, classrooms, teachers, observations, and
    `latents` (diagnostic only: never shown in the report)."""
    gen = CohortGenerator(model, codebook, population)
    n_students = n_students or model["design"]["students"]
    streams = np.random.SeedSequence(seed).spawn(3)
    students, classrooms, latents = gen.students(np.random.default_rng(streams[0]), n_students)
    teachers, classrooms = gen.teachers(np.random.default_rng(streams[1]), classrooms)
    observations = gen.observations(np.random.default_rng(streams[2]), classrooms)
    return {"students": students, "classrooms": classrooms, "teachers": teachers,
            "observations": observations, "latents": latents}
