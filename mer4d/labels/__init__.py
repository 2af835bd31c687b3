"""Label vocabularies shared by corpus loaders, the simulator and analysis: AU notation and the
AU -> emotion rules. Depends on ``mer4d.core`` only."""
