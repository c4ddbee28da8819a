"""The support log: what support the coordinator gave, to which municipalities, for which needs (#14)."""

from bfs_pipeline.support import models as models  # the tables join Base.metadata with the package
