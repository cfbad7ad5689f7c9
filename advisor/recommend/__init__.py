"""Which GPU to buy or rent for a job, and what a machine can already do (pure)."""

from advisor.capability import Capability
from advisor.recommend.capability import capabilities
from advisor.recommend.engine import MachineRow, Recommendation, RentAdvice, recommend
from advisor.recommend.jobsize import JobSize, job_size
from advisor.recommend.option import Option, evaluate

__all__ = [
    "Capability",
    "JobSize",
    "MachineRow",
    "Option",
    "Recommendation",
    "RentAdvice",
    "capabilities",
    "evaluate",
    "job_size",
    "recommend",
]
