"""A bounded property-based GraphQL fuzz of the subgraphs and the gateway.

``strategies`` makes the operations (hypothesis-graphql plus hostile changes), ``checks``
judges each answer, ``runner`` drives hypothesis and tallies, ``seed`` provides data to hit.
The subgraph fuzz is ``tests/fuzz/test_subgraphs.py``; the gateway fuzz, which needs the
end-to-end stack, is ``tests/e2e/test_fuzz_gateway.py``. ``bench/README.md`` says how to run
it for longer.
"""
