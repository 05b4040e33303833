"""The offline image set: every image a kind drill needs, built here from Go modules and
Debian packages, for machines that reach no container registry.

``recipes`` says what each image is made of (versions from ``clusters/addons.yaml``),
``steps`` runs one build step (go build, debootstrap, docker build) with caching and
progress, ``node`` assembles the kind node image, ``catalog`` lists what is built.
"""
