"""One module per paper's method: ``bfp`` (paper D); ``edm``, ``dml``, ``mst``, ``mtloc`` to come."""
