"""``TaskSampler``: a new train task at every reset (training on the union of the train tasks),
a fixed task while the meta-test sets one, and sampling again once it is cleared."""

from __future__ import annotations

from safemeta.environments.tasks import TaskSampler, set_task
from tests.plugins.onpolicy_envs import SignDistribution, SignTask, TaskSignEnv


def _directions(sampler: TaskSampler, resets: int) -> list[float]:
    seen = []
    for _ in range(resets):
        sampler.reset(seed=0)  # RLlib passes the same seed at every forced reset
        seen.append(sampler.env.get_task().direction)
    return seen


def test_sampler_draws_tasks_fixes_a_set_one_and_resumes() -> None:
    sampler = TaskSampler(TaskSignEnv(), SignDistribution(), "train", seed=[3, 1, 0])
    drawn = _directions(sampler, 40)
    assert set(drawn) == {-1.0, 1.0}  # both directions, not one seed's replay
    assert sampler.get_task() is None  # sampling: no fixed task to restore
    set_task(sampler, SignTask(-1.0))  # what run_tasks does (through ``unwrapped``)
    assert _directions(sampler, 10) == [-1.0] * 10
    assert sampler.get_task() == SignTask(-1.0)
    set_task(sampler, None)  # restore_sub_env_tasks gives back "no task": sampling again
    assert set(_directions(sampler, 40)) == {-1.0, 1.0}
    # The stream depends on the seed (trial seed, runner, sub-env) only.
    twin = TaskSampler(TaskSignEnv(), SignDistribution(), "train", seed=[3, 1, 0])
    assert _directions(twin, 40) == drawn
