"""Dispute mediation (矛盾纠纷调解) through the tiers: grid → village → township → judicial."""
