"""Post-deployment validations PDV-02..08 (PDV-01, the account guard, is in checks/plugin/live.py).

The collector (checks/areas/pdv/collector.py) performs the canaries and reads the
metrics, the Terraform state and the other bundle; the views here only read the snapshot.
"""
