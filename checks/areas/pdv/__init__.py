"""Post-deployment validations PDV-02..08 (PDV-01, the account guard, is in checks/plugin/live.py).

The collector (checks/areas/pdv/collector.py) performs the canaries and reads the
metrics, the Terraform state and the other bundle; the views here only read the snapshot.
"""

from checks.areas.pdv import reads
from checks.core.area import Area

AREA = Area(name="pdv", label="PDV", prefixes=("PDV",), order=4, markers={"pdv": "post-deployment validations"},
            reads=reads.READS, canary_reads=reads.CANARY_READS, faults="checks.areas.pdv.faults")
