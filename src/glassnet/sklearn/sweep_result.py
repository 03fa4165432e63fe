"""What a sweep found: one row per configuration, the best one, the runs, the failures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SweepResult:
    """What a sweep found: the table, the best configuration, and every run id."""

    sweep_id: str
    task: str
    trials: list[dict]
    run_ids: list[str] = field(default_factory=list)
    #: runs whose training loss ended NaN or inf (``glassnet sweep`` then exits non-zero)
    diverged: list[str] = field(default_factory=list)
    #: fits that raised: ``trial``, ``fold``, ``run_id`` (a failed run) and ``error``
    failed: list[dict] = field(default_factory=list)

    @property
    def best(self) -> dict:
        """The trial of highest CV mean among those whose folds all finished."""
        return max((t for t in self.trials if np.isfinite(t["cv_mean"])),
                   key=lambda t: t["cv_mean"])

    @property
    def summary(self) -> str:
        """How many fits there were, finished and failed (one line)."""
        total = sum(len(t["scores"]) for t in self.trials)
        return (f"sweep {self.sweep_id}: {total} fits, {total - len(self.failed)} finished, "
                f"{len(self.failed)} failed")

    @property
    def best_params(self) -> dict:
        return dict(self.best["params"])

    @property
    def best_score(self) -> float:
        return self.best["cv_mean"]

    def records(self, timings: bool = True) -> list[dict]:
        """One row per configuration: hyperparameters, CV score, fit time, weight statistics."""
        rows = []
        for trial in self.trials:
            row = {"trial": trial["trial"]}
            for key in sorted(trial["params"]):
                value = trial["params"][key]
                row[key] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) \
                    else value
            row["cv_score"] = (f"{trial['cv_mean']:.4f} ± {trial['cv_std']:.4f}"
                               if not trial.get("failed_folds") else
                               f"failed: {trial['failed_folds']} of "
                               f"{len(trial['scores'])} folds")
            row["cv_mean"] = trial["cv_mean"]
            row["cv_std"] = trial["cv_std"]
            if timings:
                row["fit_time_s"] = round(trial["fit_time"], 3)
            row.update(trial["weights"])
            row["best"] = "★" if trial is self.best else ""
            rows.append(row)
        return rows

    @property
    def table(self):
        from glassnet._engine.table import Table

        records = self.records()
        # Configurations of different depths have different layer columns: take them all.
        columns = list(dict.fromkeys(key for record in records for key in record))
        return Table(columns, [[record.get(c) for c in columns] for record in records],
                     title=f"sweep {self.sweep_id}: best trial {self.best['trial']} "
                           f"(cv {self.best_score:.4f})",
                     notes=[f"best configuration: {self.best_params}"])

    def __str__(self) -> str:
        return str(self.table)


def trial_row(t: int, config: dict, fits: list[dict | None]) -> dict:
    """One configuration's row: the CV mean and spread (NaN when a fold failed)."""
    ok = [fit for fit in fits if fit is not None]
    scores = np.array([fit["score"] for fit in ok])
    complete = len(ok) == len(fits)
    weights = {k: float(np.mean([fit["weights"].get(k, np.nan) for fit in ok]))
               for k in (ok[0]["weights"] if ok else {})}
    return {"trial": t, "params": config,
            "cv_mean": float(scores.mean()) if complete else float("nan"),
            "cv_std": float(scores.std()) if complete else float("nan"),
            "scores": [None if fit is None else fit["score"] for fit in fits],
            "failed_folds": len(fits) - len(ok),
            "fit_time": float(np.mean([fit["fit_time"] for fit in ok])) if ok
            else float("nan"),
            "weights": weights, "run_ids": [fit["run_id"] for fit in ok]}


__all__ = ["SweepResult", "trial_row"]
