"""doudi's classification rules as an OpenFisca tax-benefit system, for the benchmark only.

``doudi bench policy`` compares the SQL rule stages of ``src/doudi/policy/engine/rules`` (run on
DuckDB) with this OpenFisca model of the same formulas, on the same households and parameters.
It is not part of doudi and not one of its dependencies: install ``openfisca-core`` as
``benchmarks/README.md`` says.

- ``entities``: Person and Household, the household roles being doudi's relations to the head;
- ``tristate``: SQL's three-valued logic (yes / no / unknown) on integer arrays;
- ``variables``: the inputs and the formulas (member facts, asset tests, obligors, 特困 and care
  level, household income, 低保, 低保边缘, 刚性支出困难, 防止返贫监测, 其他困难, the amounts, the
  tier and the monthly benefit);
- ``parameters/``: doudi's parameter files as OpenFisca YAML parameters (money in yuan, ratios as
  decimals; county-specific values as ``county_XXXXXX`` children of a node with a ``city``
  default);
- ``simulate``: a vectorised simulation (``SimulationBuilder`` with arrays) from the rule
  engine's input tables, and the results in the shape the benchmark compares.
"""

from __future__ import annotations

from pathlib import Path

from openfisca_core.taxbenefitsystems import TaxBenefitSystem

from openfisca_doudi import entities, variables

PARAMETER_DIR = Path(__file__).resolve().parent / "parameters"


class DoudiTaxBenefitSystem(TaxBenefitSystem):
    """The entities, the variables of ``variables.ALL`` and the YAML parameters."""

    def __init__(self) -> None:
        super().__init__(entities.ENTITIES)
        self.add_variables(*variables.ALL)
        self.load_parameters(str(PARAMETER_DIR))


CountryTaxBenefitSystem = DoudiTaxBenefitSystem
