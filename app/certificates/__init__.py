"""Certificates and CPD: templates, issuing, PDFs, verifiable credentials, the CPD tracker."""
