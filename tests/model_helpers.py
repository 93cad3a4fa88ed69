"""Helpers shared by the model tests."""

from tts_ebm.model import ModelConfig
from tts_ebm.networks.energy import EnergyNetwork


def energy_network(config: ModelConfig, time_conditional: bool = False) -> EnergyNetwork:
    """The energy network that `config` describes (what the energy fields build)."""
    return EnergyNetwork(config.frame_network(), config.energy_head, time_conditional)
