"""The data agent: stdlib-only modules (Python >= 3.9) that run next to the data.

Every ``*.py`` here but this file is one key of the agent ConfigMap, mounted as /agent in a
pod and run as ``python3 /agent/agent.py COMMAND --root /data``; ``agent.py`` loads its
siblings as one package, so their imports are relative. Locally this is an ordinary
package: ``restore_drill.data`` imports the same modules in process.
"""
